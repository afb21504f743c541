// Runbooker portal: small enhancements; every page works without it.
