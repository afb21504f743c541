package portal

import "net/http"

func (p *Portal) routeTargets(mux *http.ServeMux) {}
