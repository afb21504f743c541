package access

// RestrictsTargets reports whether the document restricts any role on the
// members of some group (TargetEntityGroups), so that deciding needs to know
// the groups a target belongs to.
func (p *Permissions) RestrictsTargets() bool {
	return p != nil && p.hasRoles && len(p.targets) > 0
}

// RunnerRights are the rights of the built-in Runbook Runner role: what an
// API credential bound to nobody may do with the operator role.
func RunnerRights() map[Right]bool {
	out := map[Right]bool{}
	for _, r := range builtInRoles {
		if r.Name == "Runbook Runner" {
			for _, x := range r.Rights {
				out[x] = true
			}
		}
	}
	return out
}
