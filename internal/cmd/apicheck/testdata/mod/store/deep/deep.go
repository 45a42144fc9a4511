package deep

// V is in a package with an internal/ below it.
var V int
