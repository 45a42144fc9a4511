module example.com/apitest/nested

go 1.25.0
