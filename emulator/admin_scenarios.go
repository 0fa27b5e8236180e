package emulator

import (
	"errors"
	"fmt"
	"mime"
	"net/http"
	"slices"

	json "github.com/go-json-experiment/json"

	"github.com/tokenemu/tokenemu/emulator/vendorapi"
	"github.com/tokenemu/tokenemu/scenarios"
)

// BuiltinInfo names a built-in scenario.
type BuiltinInfo struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	// PerRequest says whether the X-Tokenemu-Scenario header accepts it.
	PerRequest bool `json:"per_request"`
	// Vendors are those it can be narrowed to ({"name","vendor"}).
	Vendors []string `json:"vendors"`
}

// BuiltinScenarios lists the built-in scenarios.
func (e *Emulator) BuiltinScenarios() []BuiltinInfo {
	out := []BuiltinInfo{}
	for _, name := range e.scenarios.BuiltinNames() {
		s, _ := e.scenarios.Builtin(name, "")
		info := BuiltinInfo{Name: s.Name, Description: s.Description, PerRequest: s.PerRequest() == nil, Vendors: []string{}}
		for _, v := range e.VendorNames() {
			if slices.ContainsFunc(s.Rules, func(r scenarios.Rule) bool { return r.Match.Vendor == "*" || r.Match.Vendor == v }) {
				info.Vendors = append(info.Vendors, v)
			}
		}
		out = append(out, info)
	}
	return out
}

func (a *admin) listScenarios(w http.ResponseWriter, r *http.Request, req *vendorapi.Request) error {
	vendorapi.WriteJSON(w, http.StatusOK, map[string]any{
		"builtins": a.e.BuiltinScenarios(),
		"active":   a.e.scenarios.Active(),
	})
	return nil
}

// builtinRef is a POST body that names a built-in scenario.
type builtinRef struct {
	Name   string `json:"name"`
	Vendor string `json:"vendor,omitempty"`
}

func scenarioError(err error) error {
	if scenarios.IsDuplicate(err) {
		return &vendorapi.WireError{Status: http.StatusBadRequest, Reason: "duplicate_scenario", Message: err.Error()}
	}
	if errors.Is(err, scenarios.ErrUnknown) {
		return &vendorapi.WireError{Status: http.StatusBadRequest, Reason: "unknown_scenario", Message: err.Error()}
	}
	return &vendorapi.WireError{Status: http.StatusBadRequest, Reason: "invalid_scenario", Message: err.Error()}
}

// parseScenarioBody reads a POST /scenarios body: {"name":"<built-in>"} (with
// an optional "vendor"), or one or more scenarios in YAML or JSON.
func (a *admin) parseScenarioBody(r *http.Request, body []byte) ([]scenarios.Scenario, error) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "application/json" {
		var ref builtinRef
		if vendorapi.DecodeJSON(body, &ref, json.RejectUnknownMembers(true)) == nil && ref.Name != "" {
			s, err := a.e.scenarios.Builtin(ref.Name, ref.Vendor)
			if err != nil {
				return nil, err
			}
			return []scenarios.Scenario{s}, nil
		}
	}
	return scenarios.Parse(body)
}

// scenariosFit refuses scenarios that, with those active, would take more
// than an eighth of the emulator's memory budget (Config.MemoryBudget),
// counted as their JSON (a document may be 256 KiB). Those replace replaces
// are not counted twice.
func (a *admin) scenariosFit(list []scenarios.Scenario, replace bool) error {
	budget := a.e.cfg.MemoryBudget
	if budget == 0 {
		return nil
	}
	added, _ := json.Marshal(list)
	kept := a.e.scenarios.Active()
	if replace {
		kept = slices.DeleteFunc(kept, func(st scenarios.Status) bool {
			return slices.ContainsFunc(list, func(s scenarios.Scenario) bool { return s.Name == st.Name })
		})
	}
	active, _ := json.Marshal(kept)
	if n := int64(len(added) + len(active)); n > budget/8 {
		return &vendorapi.WireError{Status: http.StatusConflict, Reason: "scenarios_too_large",
			Message: fmt.Sprintf("these scenarios and those active take %d KB, more than an eighth of the memory budget (%d KB): remove some (DELETE /_emulator/scenarios)", n>>10, budget>>13)}
	}
	return nil
}

func (a *admin) applyScenarios(w http.ResponseWriter, r *http.Request, req *vendorapi.Request) error {
	list, err := a.parseScenarioBody(r, req.Body)
	if err != nil {
		return scenarioError(err)
	}
	replace := r.URL.Query().Get("replace") == "true"
	if err := a.scenariosFit(list, replace); err != nil {
		return err
	}
	if err := a.e.scenarios.ApplyAll(list, a.e.clock.Now(), replace); err != nil {
		return scenarioError(err)
	}
	applied := map[string]bool{}
	for _, s := range list {
		applied[s.Name] = true
	}
	out := []scenarios.Status{}
	for _, st := range a.e.scenarios.Active() {
		if applied[st.Name] {
			out = append(out, st)
		}
	}
	vendorapi.WriteJSON(w, http.StatusCreated, map[string]any{"applied": out})
	return nil
}

func (a *admin) removeScenario(w http.ResponseWriter, r *http.Request, req *vendorapi.Request) error {
	name := req.Param("name")
	if !a.e.scenarios.Remove(name) {
		return &vendorapi.WireError{Status: http.StatusNotFound, Reason: "not_found", Message: fmt.Sprintf("no active scenario %q", name)}
	}
	vendorapi.WriteJSON(w, http.StatusOK, map[string]string{"status": "removed", "name": name})
	return nil
}

func (a *admin) clearScenarios(w http.ResponseWriter, r *http.Request, req *vendorapi.Request) error {
	a.e.scenarios.Clear()
	vendorapi.WriteJSON(w, http.StatusOK, map[string]string{"status": "cleared"})
	return nil
}
