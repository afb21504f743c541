package catalog

import (
	"strings"

	runbooker "github.com/runbooker/runbooker"
)

// Directory attributes a picker or the context field submits (Field.Returns).
const (
	ReturnsID                = "id"
	ReturnsUserPrincipalName = "userPrincipalName"
	ReturnsDisplayName       = "displayName"
	ReturnsDeviceID          = "deviceId"
)

// pickerReturns is RealmJoin's rule for what an entity picker submits: the
// -Attribute of Use-RJInterface when there is one; else the object's name
// when the parameter's name ends in "name" ($UserName: the user principal
// name, $GroupName and $DeviceName: the display name); else the object's
// id. Scripts depend on it: $GroupID_License goes straight into
// /groups/{id}, $UserName into /users/{upn}.
func pickerReturns(entity, name, attribute string) string {
	if attribute != "" {
		return attribute
	}
	if !strings.HasSuffix(strings.ToLower(name), "name") {
		return ReturnsID
	}
	if entity == "user" {
		return ReturnsUserPrincipalName
	}
	return ReturnsDisplayName
}

// contextReturns is what the portal submits for the context parameter of a
// runbook of scope. It follows pickerReturns, with one exception that
// RealmJoin's device runbooks rely on: a device is identified by its Entra
// deviceId (they query /devices?$filter=deviceId eq '…' and Intune's
// azureADDeviceId), not by its directory object id.
func contextReturns(scope, name, attribute string) string {
	switch scope {
	case "user", "group":
		return pickerReturns(scope, name, attribute)
	case "device":
		if r := pickerReturns(scope, name, attribute); r != ReturnsID || attribute != "" {
			return r
		}
		return ReturnsDeviceID
	}
	return ""
}

// hintFits reports whether a Use-RJInterface control can edit a value of
// parameter type t: the declared type decides what the script accepts, so
// a hint that cannot produce it is ignored ([bool] with -Type Number stays
// a toggle). A string takes anything a control submits.
func hintFits(control string, t runbooker.ParamType) bool {
	switch t {
	case "", runbooker.TypeString:
		return true
	case runbooker.TypeInt, runbooker.TypeFloat:
		return control == ControlNumber
	case runbooker.TypeDateTime:
		return control == ControlDateTime
	case runbooker.TypeStringArray:
		return control == ControlTextarea || control == ControlEntity
	case runbooker.TypeObject:
		return control == ControlTextarea
	}
	return false // bool, switch: only a toggle
}
