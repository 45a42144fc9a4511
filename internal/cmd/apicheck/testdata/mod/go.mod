module example.com/apitest

go 1.25.0
