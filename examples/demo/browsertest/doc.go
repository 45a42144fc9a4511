// Package browsertest drives the demo shop in headless Chromium, through the Chrome
// DevTools Protocol (github.com/chromedp/chromedp), on every store it can reach. It is
// a module of its own so that chromedp never enters the library's go.mod; it has no
// code but its tests.
//
//	cd examples/demo/browsertest && go test -count=1 .
//	DEMO_SCREENSHOTS=/tmp/shots go test -count=1 -v .   # keep the screenshots
//
// The test builds the demo from ../ (the main module) and runs it as a process on a
// free loopback port for each store: STORE=memory and cookie always, redis and
// postgres (and any other STORE the demo knows) where the demo can reach their server.
// It finds Chromium at $CHROMIUM or as chromium on the PATH (Debian's package
// chromium). Without Chromium, or without a store's server, a test skips on a
// developer's machine and fails when CI is set.
package browsertest
