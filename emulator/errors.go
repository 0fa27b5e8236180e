package emulator

import (
	"net/http"

	"github.com/tokenemu/tokenemu/emulator/vendorapi"
)

// adminErrorBody is the admin plane's error body (and the answer to a path
// under no vendor).
type adminErrorBody struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

func writeAdminError(w http.ResponseWriter, status int, code, msg string) {
	vendorapi.WriteJSON(w, status, adminErrorBody{Error: code, Message: msg})
}
