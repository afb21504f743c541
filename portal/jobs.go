package portal

import "net/http"

func (p *Portal) routeJobs(mux *http.ServeMux) {}
