package store

// NewTokenForTest exports newToken to the tests.
var NewTokenForTest = newToken
