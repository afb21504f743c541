package portal

import "net/http"

func (p *Portal) routeAdmin(mux *http.ServeMux) {}
