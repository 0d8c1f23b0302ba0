package pixie

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pixieauth/pixie/internal/wire"
)

// DeviceAuth is a device authorization response (RFC 8628 section 3.2): what to
// show the user, and the device code to poll with.
type DeviceAuth struct {
	// DeviceCode is the device verification code; it stays in the client.
	DeviceCode Secret
	// UserCode is the code the user enters at VerificationURI.
	UserCode string
	// VerificationURI is where the user goes to approve; show it with UserCode.
	// [Config.DeviceAuth] accepts only an absolute https URL here (http on a
	// loopback host, or anywhere with [Config.AllowInsecureHTTP]).
	VerificationURI string
	// VerificationURIComplete, when the server gives it, includes the user
	// code, for a link or QR code (RFC 8628 section 3.3.1). It is checked as
	// VerificationURI is.
	VerificationURIComplete string
	// Expires is when the device code expires.
	Expires time.Time
	// Interval is the minimum time between polls: the server's interval, or 5
	// seconds when it gave none (RFC 8628 section 3.2).
	Interval time.Duration
	// Scopes are the scopes requested.
	Scopes []string
}

// defaultDeviceInterval is RFC 8628 section 3.2's default polling interval.
const defaultDeviceInterval = 5 * time.Second

// slowDownStep is what each slow_down adds to the interval (RFC 8628 section 3.5).
const slowDownStep = 5 * time.Second

// DeviceAuth starts a device authorization grant (RFC 8628 section 3.1). Show the
// user UserCode and VerificationURI (or VerificationURIComplete), then call
// [Config.DeviceToken] to wait for approval.
func (c *Config) DeviceAuth(ctx context.Context, opts ...Option) (*DeviceAuth, error) {
	p, err := c.collect(opts)
	if err != nil {
		return nil, err
	}
	form := c.grantForm("", p)
	form.Del("grant_type")
	const op = "device authorization"
	resp, err := c.post(ctx, op, c.Endpoint.DeviceAuthURL, form, false)
	if err != nil {
		return nil, err
	}
	da, err := decodeDeviceAuth(resp, c.AllowInsecureHTTP)
	if err != nil {
		return nil, &Error{Op: op, StatusCode: resp.StatusCode, Err: err}
	}
	da.Scopes = p.scopes
	return da, nil
}

func decodeDeviceAuth(resp *wire.Response, allowInsecure bool) (*DeviceAuth, error) {
	o, err := wire.DecodeObject(resp.Header.Get("Content-Type"), resp.Body, "device authorization")
	if err != nil {
		return nil, err
	}
	deviceCode := o.String("device_code")
	da := &DeviceAuth{
		DeviceCode:              NewSecret(deviceCode),
		UserCode:                o.String("user_code"),
		VerificationURI:         o.String("verification_uri"),
		VerificationURIComplete: o.String("verification_uri_complete"),
	}
	if da.VerificationURI == "" {
		// Some servers, Google's among them, predate the RFC's name.
		da.VerificationURI = o.String("verification_url")
	}
	expiresIn, interval := o.Seconds("expires_in"), o.Seconds("interval")
	if err := o.Err(); err != nil {
		return nil, err
	}
	switch {
	case deviceCode == "":
		return nil, errors.New("response has no device_code")
	case da.UserCode == "":
		return nil, errors.New("response has no user_code")
	case da.VerificationURI == "":
		return nil, errors.New("response has no verification_uri")
	case expiresIn <= 0:
		return nil, errors.New("response has no positive expires_in")
	}
	if err := checkVerificationURI("verification_uri", da.VerificationURI, allowInsecure); err != nil {
		return nil, err
	}
	if da.VerificationURIComplete != "" {
		if err := checkVerificationURI("verification_uri_complete", da.VerificationURIComplete, allowInsecure); err != nil {
			return nil, err
		}
	}
	da.Expires = resp.Received.Add(expiresIn)
	da.Interval = defaultDeviceInterval
	if interval > 0 {
		da.Interval = interval
	}
	return da, nil
}

// checkVerificationURI refuses a verification URI (RFC 8628 section 3.2) that
// is not an absolute https URL, or http on loopback (or anywhere with
// allowInsecure): the user is sent there to sign in, often by a browser
// command, and a server could otherwise hand that command an option such as
// "--help", or a "file:" or "javascript:" URL.
func checkVerificationURI(name, raw string, allowInsecure bool) error {
	if err := wire.CheckURL(raw, allowInsecure); err != nil {
		return fmt.Errorf("response has an unusable %s (want an absolute https URL): %w", name, err)
	}
	return nil
}

// DeviceToken polls the token endpoint until the user approves or denies the
// device authorization, the device code expires, or ctx is done (RFC 8628
// section 3.4). It waits Interval between polls, adds 5 seconds for each
// slow_down, and keeps polling on authorization_pending. A denial returns
// [ErrAccessDenied], and expiry [ErrExpiredToken], also when the next poll would
// come after the device code expires; for both [LoginRequired] is true.
func (c *Config) DeviceToken(ctx context.Context, da *DeviceAuth) (*Token, error) {
	if da == nil || da.DeviceCode.IsZero() {
		return nil, errors.New("pixie: no device code; start with DeviceAuth")
	}
	form := c.grantForm("urn:ietf:params:oauth:grant-type:device_code", &params{})
	form.Set("device_code", da.DeviceCode.Reveal())
	interval := max(da.Interval, time.Second)
	for {
		// A poll after the device code's expiry is pointless: stop when the
		// next one would come too late.
		if !c.now().Add(interval).Before(da.Expires) {
			return nil, &Error{Op: "token", Code: ErrExpiredToken.Code,
				Description: "the device code expired before the user approved it; start again"}
		}
		if err := sleep(ctx, interval); err != nil {
			return nil, fmt.Errorf("pixie: waiting for device approval: %w", err)
		}
		tok, err := c.token(ctx, form, da.Scopes, false)
		switch {
		case err == nil:
			return tok, nil
		case errors.Is(err, ErrAuthorizationPending):
		case errors.Is(err, ErrSlowDown):
			interval += slowDownStep
		default:
			return nil, err
		}
	}
}

// sleep waits between polls; tests replace it to run without waiting.
var sleep = wire.Sleep
