package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	rbhttp "github.com/runbooker/runbooker/http"
)

func cmdWebhook(ctx context.Context, args []string, stdout io.Writer) error {
	const use = "usage: runbooker webhook create NAME --runbook RB [-p K=V]... [--run-on GROUP] [--expires D|TIME] [--disabled] | list | get ID | enable ID | disable ID | delete ID"
	var runbook *string
	var ps multiFlag
	var runOn *string
	var expires *string
	var disabled *bool
	verb, rest, c, err := subcommand("webhook", use, args, func(fs *flag.FlagSet) {
		runbook = fs.String("runbook", "", "create: the runbook each call starts")
		fs.Var(&ps, "p", "create: a fixed parameter, Key=Value or Key:=JSON (repeatable)")
		runOn = fs.String("run-on", "", "create: worker group (default: the runbook's)")
		expires = fs.String("expires", "", "create: expires after this long (such as 720h) or at this RFC 3339 time (default a year)")
		disabled = fs.Bool("disabled", false, "create: create it disabled")
	})
	if err != nil {
		return err
	}
	switch {
	case verb == "create" && len(rest) == 1:
		params, err := parseParams(ps)
		if err != nil {
			return err
		}
		exp, err := tokenExpiry(*expires, time.Now())
		if err != nil {
			return err
		}
		enabled := !*disabled
		req := rbhttp.WebhookRequest{Name: rest[0], RunbookName: *runbook, RunOn: runOn, Enabled: &enabled, ExpiresAt: exp}
		if len(params) > 0 {
			req.Parameters = &params
		}
		h, err := c.CreateWebhook(ctx, req)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "created webhook %q (id %s) for runbook %q, expires %s; its URL is shown once:\n%s\n",
			h.Name, h.ID, h.RunbookName, h.ExpiresAt.Format(time.RFC3339), h.URL)
		return nil
	case verb == "list" && len(rest) == 0:
		l, err := c.Webhooks(ctx)
		if err != nil {
			return err
		}
		for _, h := range l {
			printWebhook(stdout, &h)
		}
		return nil
	case verb == "get" && len(rest) == 1:
		h, err := c.Webhook(ctx, rest[0])
		if err != nil {
			return err
		}
		printWebhook(stdout, h)
		return nil
	case (verb == "enable" || verb == "disable") && len(rest) == 1:
		on := verb == "enable"
		h, err := c.UpdateWebhook(ctx, rest[0], rbhttp.WebhookRequest{Enabled: &on})
		if err != nil {
			return err
		}
		printWebhook(stdout, h)
		return nil
	case verb == "delete" && len(rest) == 1:
		if err := c.DeleteWebhook(ctx, rest[0]); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "deleted webhook %s\n", rest[0])
		return nil
	}
	return fmt.Errorf(use)
}

func printWebhook(w io.Writer, h *rbhttp.WebhookView) {
	state := map[bool]string{true: "enabled", false: "disabled"}[h.Enabled]
	fmt.Fprintf(w, "%s  %-20s runbook %-30s %-8s expires %s\n", h.ID, h.Name, h.RunbookName, state, h.ExpiresAt.Format(time.RFC3339))
}
