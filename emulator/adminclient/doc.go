// Package adminclient is a typed client of the emulator's admin plane
// (/_emulator), generated from its OpenAPI document (openapi/admin.yaml) by
// oapi-codegen; the CLI and the kit (package testkit) both drive the admin
// plane through it. Regenerate it with go generate ./emulator/adminclient after a
// change to the document; CI fails when the committed code is stale.
//
//	c, err := adminclient.NewClientWithResponses("http://127.0.0.1:8080/_emulator",
//		adminclient.WithRequestEditorFn(adminclient.Auth(adminToken)))
//	clock, err := c.GetClockWithResponse(ctx)
package adminclient

//go:generate go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen@v2.8.2 -config oapi-codegen.yaml ../../openapi/admin.yaml
