package devserver

import "net/http"

// BrowserClient returns b's HTTP client, whose cookie jar holds b's session,
// so that a test can send requests as that browser.
func BrowserClient(b *Browser) *http.Client { return b.client }
