module github.com/seed96b21533/typedsession

go 1.24
