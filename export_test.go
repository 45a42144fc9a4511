package typedsession

// CookieValue exports cookieValue to the tests.
var CookieValue = cookieValue
