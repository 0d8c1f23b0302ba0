package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"time"
)

// Object reads the members of a JSON response object (device authorization,
// introspection) by type. A member of the wrong type is recorded and reported
// by Err, so a caller reads every member and checks once.
type Object struct {
	m    map[string]any
	errs []error
}

// DecodeObject decodes a JSON object response. what names the response in errors.
func DecodeObject(contentType string, body []byte, what string) (*Object, error) {
	if mt, _, _ := mime.ParseMediaType(contentType); mt == "application/x-www-form-urlencoded" {
		return nil, fmt.Errorf("%s response is form-encoded, not JSON", what)
	}
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	if err := d.Decode(&m); err != nil || m == nil || d.More() {
		return nil, fmt.Errorf("%s response is not a JSON object", what)
	}
	return &Object{m: plainJSON(m).(map[string]any)}, nil
}

// Err reports the members that had the wrong type.
func (o *Object) Err() error { return errors.Join(o.errs...) }

// Rest removes the named members and returns the others.
func (o *Object) Rest(read ...string) map[string]any {
	for _, k := range read {
		delete(o.m, k)
	}
	return o.m
}

func (o *Object) wrongType(name, want string, v any) {
	o.errs = append(o.errs, fmt.Errorf("member %s is %s, not %s", name, jsonKind(v), want))
}

// Has reports whether member name is present and not null.
func (o *Object) Has(name string) bool { return o.m[name] != nil }

// String returns member name as a string; "" when absent or null.
func (o *Object) String(name string) string {
	switch v := o.m[name].(type) {
	case nil:
	case string:
		return v
	default:
		o.wrongType(name, "a string", v)
	}
	return ""
}

// Seconds returns member name, a number of seconds given as a JSON number or a
// numeric string, as a duration; 0 when absent.
func (o *Object) Seconds(name string) time.Duration {
	v := o.m[name]
	if v == nil {
		return 0
	}
	d, err := parseSeconds(v)
	if err != nil {
		o.errs = append(o.errs, fmt.Errorf("member %s %w", name, err))
	}
	return d
}

// Bool returns member name as a bool; false when absent or null.
func (o *Object) Bool(name string) bool {
	switch v := o.m[name].(type) {
	case nil:
	case bool:
		return v
	default:
		o.wrongType(name, "a boolean", v)
	}
	return false
}

// Strings returns member name, a string or an array of strings (as "aud" may be,
// RFC 7519 section 4.1.3), as a slice; nil when absent.
func (o *Object) Strings(name string) []string {
	switch v := o.m[name].(type) {
	case nil:
	case string:
		return []string{v}
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				o.wrongType(name+"[]", "a string", e)
				return nil
			}
			out = append(out, s)
		}
		return out
	default:
		o.wrongType(name, "a string or an array of strings", v)
	}
	return nil
}

// Time returns member name, a NumericDate (seconds since the epoch, RFC 7519
// section 2), as a time; the zero time when absent.
func (o *Object) Time(name string) time.Time {
	switch v := o.m[name].(type) {
	case nil:
	case float64:
		if v < 0 || v > 1<<40 {
			o.errs = append(o.errs, fmt.Errorf("member %s is out of range", name))
			return time.Time{}
		}
		sec := int64(v)
		return time.Unix(sec, int64((v-float64(sec))*1e9))
	default:
		o.wrongType(name, "a NumericDate", v)
	}
	return time.Time{}
}
