package pixie

import "context"

// ClientCredentials obtains a token for the client itself with the client
// credentials grant (RFC 6749 section 4.4). Scopes default to [Config.Scopes];
// [Resource] and [Audience] name the target API. Temporary failures are retried
// within [Config.Retry].
func (c *Config) ClientCredentials(ctx context.Context, opts ...Option) (*Token, error) {
	p, err := c.collect(opts)
	if err != nil {
		return nil, err
	}
	return c.token(ctx, c.grantForm("client_credentials", p), p.scopes, false)
}
