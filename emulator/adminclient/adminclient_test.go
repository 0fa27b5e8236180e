package adminclient_test

import (
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/tokenemu/tokenemu/emulator/adminclient"
)

// The client has a method for every operation of the admin document but
// those left out on purpose (the documents and the console: files).
func TestEveryOperationHasAMethod(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../../openapi/admin.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ids := regexp.MustCompile(`(?m)^\s+operationId:\s*(\S+)`).FindAllStringSubmatch(string(doc), -1)
	if len(ids) < 20 {
		t.Fatalf("found %d operations in admin.yaml", len(ids))
	}
	typ := reflect.TypeFor[*adminclient.ClientWithResponses]()
	for _, m := range ids {
		id := m[1]
		switch id {
		case "getOpenAPIDocument", "getConsole", "getConsoleAsset": // files, for a browser
			continue
		}
		name := strings.ToUpper(id[:1]) + id[1:] + "WithResponse"
		if _, ok := typ.MethodByName(name); !ok {
			t.Errorf("operation %s has no method %s: run go generate ./emulator/adminclient", id, name)
		}
	}
}
