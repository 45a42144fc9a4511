module github.com/seed96b21533/typedsession/compat

go 1.25.0

replace github.com/seed96b21533/typedsession => ..

require (
	github.com/coder/websocket v1.8.15
	github.com/go-chi/chi/v5 v5.5.0
	github.com/gorilla/websocket v1.5.3
	github.com/seed96b21533/typedsession v0.0.0-00010101000000-000000000000
)
