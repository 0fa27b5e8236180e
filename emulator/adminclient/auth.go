package adminclient

import (
	"context"
	"net/http"
)

// Auth is a request editor that sends the admin token (when there is one)
// and says JSON on every change: the admin plane takes a POST or DELETE only
// when it says JSON, body or not (a defence against cross-site requests),
// and the generated client sets the type only when it sends a body.
func Auth(adminToken string) RequestEditorFn {
	return func(_ context.Context, req *http.Request) error {
		if adminToken != "" {
			req.Header.Set("Authorization", "Bearer "+adminToken)
		}
		if req.Method != http.MethodGet && req.Header.Get("Content-Type") == "" {
			req.Header.Set("Content-Type", "application/json")
		}
		return nil
	}
}
