package admin

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/caddyserver/caddy/v2"
	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/storage"
)

// This file is the `caddy llm-gateway` command: a client of the management
// API in api.go, reached through Caddy's admin endpoint.

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:      cliName,
		Usage:     cliUsage,
		Short:     cliShort,
		Long:      cliLong,
		CobraFunc: setupCLI,
	})
}

const (
	cliName  = "llm-gateway"
	cliUsage = "services|tokens|keys|usage|audit|cache [<command>] [--address <interface>] [--json]"
	cliShort = "Manages the LLM gateway's services, tokens and provider keys; reports usage and audit records"
	cliLong  = `
Manages the LLM gateway of a running Caddy through the gateway's management
API on Caddy's admin endpoint (/llm_gateway/...).

  services   the apps, teams or projects that own tokens
  tokens     the gateway tokens clients authenticate with
  keys       the upstream provider API keys the gateway uses
  usage      requests, tokens, spend and cache hits per day or month
  audit      the audit log: one record per request, newest first
  cache      the response cache: stats, purge

The admin endpoint is, in order: --address; the admin listener of the
config given with --config (and --adapter); the CADDY_ADMIN environment
variable; localhost:2019.

Output is a table; --json prints the API's JSON answer instead. Errors are
printed as "error: <message>" and the command exits non-zero.
`
	cliExample = `  $ caddy llm-gateway services create billing --allow-model 'gpt-4o*' --label team=payments
  $ caddy llm-gateway tokens create svc_01J... --name ci --expires-in 720h
  $ caddy llm-gateway keys add openai --label primary < openai.key
  $ caddy llm-gateway services list --all --json`
)

// API paths.
const (
	cliServicesPath  = "/llm_gateway/services"
	cliTokensPath    = "/llm_gateway/tokens"
	cliProvidersPath = "/llm_gateway/providers"
)

const (
	// cliMaxResponse caps an answer of the admin API.
	cliMaxResponse = 64 << 20
	// cliMaxSecret caps a provider key read from stdin.
	cliMaxSecret = 4096
)

// newCLI returns the llm-gateway command as a standalone root, for tests;
// Caddy builds its own through RegisterCommand.
func newCLI() *cobra.Command {
	cmd := &cobra.Command{Use: cliName + " " + cliUsage, Short: cliShort, Long: cliLong}
	setupCLI(cmd)
	return cmd
}

// cliState holds the flags shared by every subcommand of one command tree.
type cliState struct {
	address string
	config  string
	adapter string
	json    bool
}

// setupCLI configures cmd (named llm-gateway) and adds its subcommands.
func setupCLI(cmd *cobra.Command) {
	c := &cliState{}
	pf := cmd.PersistentFlags()
	pf.StringVar(&c.address, "address", "", "Address of Caddy's admin endpoint (default: from --config, else $CADDY_ADMIN, else localhost:2019)")
	pf.StringVarP(&c.config, "config", "c", "", "Config file to read the admin address from, if --address is not given")
	pf.StringVarP(&c.adapter, "adapter", "a", "", "Name of the config adapter for --config")
	pf.BoolVar(&c.json, "json", false, "Print the API's JSON answer instead of a table")
	cmd.Example = cliExample
	cmd.SilenceUsage = true
	// Every error, cobra's own (flags, arguments) and ours, prints as
	// "error: ..." on stderr; Caddy's main then exits with status 1.
	cmd.SetErrPrefix("error:")
	cmd.Args = cobra.ArbitraryArgs
	cmd.RunE = cliGroupRun
	cmd.AddCommand(c.servicesCmd(), c.tokensCmd(), c.keysCmd(), c.usageCmd(), c.auditCmd(), c.cacheCmd())
}

// cliGroupRun runs a command that only groups subcommands.
func cliGroupRun(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return cmd.Help()
	}
	return fmt.Errorf("unknown command %q for %q; run '%s --help' for the list", args[0], cmd.CommandPath(), cmd.CommandPath())
}

// cliGroup returns a command grouping subs.
func cliGroup(use, alias, short string, subs ...*cobra.Command) *cobra.Command {
	cmd := &cobra.Command{Use: use, Aliases: []string{alias}, Short: short, Args: cobra.ArbitraryArgs, RunE: cliGroupRun}
	cmd.AddCommand(subs...)
	return cmd
}

// cliArgs checks that a command got exactly the named positional
// arguments, none empty; IDs and provider names must also be usable as a
// URL path segment.
func cliArgs(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		switch {
		case len(args) < len(names):
			return fmt.Errorf("missing <%s>; usage: %s", names[len(args)], cmd.UseLine())
		case len(args) > len(names) && len(names) == 0:
			return fmt.Errorf("unexpected argument %q; usage: %s", args[0], cmd.UseLine())
		case len(args) > len(names):
			return fmt.Errorf("too many arguments: want <%s>, got %d; usage: %s", strings.Join(names, "> <"), len(args), cmd.UseLine())
		}
		for i, a := range args {
			if strings.TrimSpace(a) == "" {
				return fmt.Errorf("<%s> must not be empty", names[i])
			}
			if names[i] != "name" && (a == "." || a == "..") {
				return fmt.Errorf("<%s> %q is not a valid identifier", names[i], a)
			}
		}
		return nil
	}
}

// ---- talking to the admin API ----

// adminAddress resolves the admin endpoint the way Caddy's own commands do.
func (c *cliState) adminAddress() (string, error) {
	if c.adapter != "" && c.config == "" {
		return "", errors.New("--adapter needs --config")
	}
	addr := c.address
	if addr == "" && c.config == "" {
		// caddy.DefaultAdminListen reads CADDY_ADMIN too, but only once at
		// start-up; reading it here keeps the precedence explicit.
		addr = os.Getenv("CADDY_ADMIN")
	}
	a, err := caddycmd.DetermineAdminAPIAddress(addr, nil, c.config, c.adapter)
	if err != nil {
		return "", fmt.Errorf("finding the admin endpoint: %v", err)
	}
	return a, nil
}

// cliAPIError is an error answer ({"error": "..."}) of the admin API.
type cliAPIError struct {
	status  int
	message string
}

func (e *cliAPIError) Error() string { return e.message }

// adminErrPrefix starts the error caddycmd.AdminAPIRequest returns for an
// HTTP status of 400 or more; the status and the body follow.
const adminErrPrefix = "caddy responded with error: HTTP "

// cliRequestError turns an error of caddycmd.AdminAPIRequest into the
// API's own message where there is one.
func cliRequestError(addr string, err error) error {
	msg := err.Error()
	rest, ok := strings.CutPrefix(msg, adminErrPrefix)
	if !ok {
		if strings.HasPrefix(msg, "performing request") {
			return fmt.Errorf("cannot reach Caddy's admin endpoint at %s: %v (is Caddy running? set --address or CADDY_ADMIN)", addr, err)
		}
		return fmt.Errorf("calling Caddy's admin endpoint at %s: %v", addr, err)
	}
	code, body, _ := strings.Cut(rest, ": ")
	status, _ := strconv.Atoi(code)
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal([]byte(body), &e) == nil && e.Error != "" {
		return &cliAPIError{status: status, message: e.Error}
	}
	body = strings.TrimSpace(body)
	if body == "" {
		body = http.StatusText(status)
	}
	msg = fmt.Sprintf("HTTP %d: %s", status, cliClean(body))
	if status == http.StatusNotFound {
		msg += " (is the llm_gateway management API enabled in this Caddy?)"
	}
	return &cliAPIError{status: status, message: msg}
}

// call sends one request to the management API and returns the answer's
// body. A non-nil body is sent as JSON.
func (c *cliState) call(method, path string, query url.Values, body any) ([]byte, error) {
	addr, err := c.adminAddress()
	if err != nil {
		return nil, err
	}
	uri := path
	if len(query) > 0 {
		uri += "?" + query.Encode()
	}
	h := http.Header{}
	h.Set("Accept", "application/json")
	// AdminAPIRequest makes a transport per request; don't leave its
	// connection idle.
	h.Set("Connection", "close")
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("encoding the request: %v", err)
		}
		rd = bytes.NewReader(b)
	}
	if method != http.MethodGet {
		h.Set("Content-Type", "application/json")
	}
	resp, err := caddycmd.AdminAPIRequest(addr, method, uri, h, rd)
	if err != nil {
		return nil, cliRequestError(addr, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, cliMaxResponse))
	if err != nil {
		return nil, fmt.Errorf("reading the answer of %s %s: %v", method, path, err)
	}
	return raw, nil
}

// do calls the API and, unless --json, decodes the answer into out.
func (c *cliState) do(method, path string, query url.Values, body, out any) ([]byte, error) {
	raw, err := c.call(method, path, query, body)
	if err != nil {
		return nil, err
	}
	if out != nil && !c.json {
		if err := json.Unmarshal(raw, out); err != nil {
			return raw, cliBadJSON(err)
		}
	}
	return raw, nil
}

func cliBadJSON(err error) error {
	return fmt.Errorf("the admin API answered something that is not the expected JSON: %v", err)
}

// cliPage is one page of a list answer.
type cliPage struct {
	Data []json.RawMessage `json:"data"`
	Next string            `json:"next"`
}

// cliListResult is what a list command fetched: raw is the API's answer
// when a single page was fetched, else the pages joined into one.
type cliListResult struct {
	raw   []byte
	items []json.RawMessage
	next  string
}

// fetchList gets a page of a list, or with all every page from the cursor
// in query on.
func (c *cliState) fetchList(path string, query url.Values, all bool) (cliListResult, error) {
	var res cliListResult
	seen := map[string]bool{}
	pages := 0
	for {
		raw, err := c.call(http.MethodGet, path, query, nil)
		if err != nil {
			return res, err
		}
		var p cliPage
		if err := json.Unmarshal(raw, &p); err != nil {
			return res, cliBadJSON(err)
		}
		pages++
		res.raw, res.next = raw, p.Next
		res.items = append(res.items, p.Data...)
		if !all || p.Next == "" {
			break
		}
		if seen[p.Next] {
			return res, fmt.Errorf("the admin API returned the cursor %q twice; stopping", p.Next)
		}
		seen[p.Next] = true
		query.Set("cursor", p.Next)
	}
	if pages > 1 {
		joined := cliPage{Data: res.items}
		if joined.Data == nil {
			joined.Data = []json.RawMessage{}
		}
		b, err := json.Marshal(joined)
		if err != nil {
			return res, err
		}
		res.raw = b
	}
	return res, nil
}

// cliItems decodes the items of a list.
func cliItems[T any](items []json.RawMessage) ([]T, error) {
	out := make([]T, 0, len(items))
	for _, it := range items {
		var v T
		if err := json.Unmarshal(it, &v); err != nil {
			return nil, cliBadJSON(err)
		}
		out = append(out, v)
	}
	return out, nil
}

// cliListFlags are the paging flags of a list command.
type cliListFlags struct {
	limit  int
	cursor string
	all    bool
}

func (f *cliListFlags) register(cmd *cobra.Command) {
	cmd.Flags().IntVar(&f.limit, "limit", 0, fmt.Sprintf("Page size, 1 to %d (default: the server's)", storage.MaxPageSize))
	cmd.Flags().StringVar(&f.cursor, "cursor", "", "Start after this cursor (the \"next\" of a previous page)")
	cmd.Flags().BoolVar(&f.all, "all", false, "Fetch every page, not only the first")
}

func (f *cliListFlags) query(cmd *cobra.Command) (url.Values, error) {
	q := url.Values{}
	if cmd.Flags().Changed("limit") {
		if f.limit < 1 || f.limit > storage.MaxPageSize {
			return nil, fmt.Errorf("--limit must be from 1 to %d, got %d", storage.MaxPageSize, f.limit)
		}
		q.Set("limit", strconv.Itoa(f.limit))
	}
	if f.cursor != "" {
		q.Set("cursor", f.cursor)
	}
	return q, nil
}

// printList prints a list: the JSON, or the table render writes.
func (c *cliState) printList(cmd *cobra.Command, res cliListResult, what string, render func(io.Writer) error) error {
	if c.json {
		return cliPrintJSON(cmd.OutOrStdout(), res.raw)
	}
	if len(res.items) == 0 {
		fmt.Fprintf(cmd.OutOrStdout(), "No %s.\n", what)
	} else if err := render(cmd.OutOrStdout()); err != nil {
		return err
	}
	if res.next != "" {
		fmt.Fprintf(cmd.ErrOrStderr(), "More %s: add --cursor %s, or use --all.\n", what, res.next)
	}
	return nil
}

// cliPrintJSON pretty-prints raw, the API's answer; an empty answer prints
// nothing.
func cliPrintJSON(w io.Writer, raw []byte) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		return cliBadJSON(err)
	}
	buf.WriteByte('\n')
	_, err := w.Write(buf.Bytes())
	return err
}

// ---- records and their display ----

type cliLimits struct {
	RPM *int64 `json:"rpm,omitempty"`
	RPD *int64 `json:"rpd,omitempty"`
	TPM *int64 `json:"tpm,omitempty"`
}

type cliBudget struct {
	DailyUSD   *float64 `json:"daily_usd,omitempty"`
	MonthlyUSD *float64 `json:"monthly_usd,omitempty"`
}

type cliService struct {
	ID            string            `json:"id"`
	Name          string            `json:"name"`
	Active        bool              `json:"active"`
	AllowedModels []string          `json:"allowed_models"`
	Limits        cliLimits         `json:"limits"`
	Budget        cliBudget         `json:"budget"`
	Labels        map[string]string `json:"labels"`
	PinnedKeys    map[string]string `json:"pinned_keys"`
	CreatedAt     string            `json:"created_at"`
	UpdatedAt     string            `json:"updated_at"`
}

type cliToken struct {
	ID         string            `json:"id"`
	Token      string            `json:"token"`
	ServiceID  string            `json:"service_id"`
	Name       string            `json:"name"`
	Prefix     string            `json:"prefix"`
	Labels     map[string]string `json:"labels"`
	Limits     cliLimits         `json:"limits"`
	Budget     cliBudget         `json:"budget"`
	ExpiresAt  string            `json:"expires_at"`
	LastUsedAt string            `json:"last_used_at"`
	Revoked    bool              `json:"revoked"`
	RevokedAt  string            `json:"revoked_at"`
	CreatedAt  string            `json:"created_at"`
}

type cliKey struct {
	ID        string `json:"id"`
	Provider  string `json:"provider"`
	Label     string `json:"label"`
	Priority  int    `json:"priority"`
	Last4     string `json:"last4"`
	BaseURL   string `json:"base_url"`
	CreatedAt string `json:"created_at"`
}

// cliClean quotes s if it holds control characters, so that data from the
// API cannot break a table or drive the terminal.
func cliClean(s string) string {
	if strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) }) {
		return strconv.Quote(s)
	}
	return s
}

func cliOr(s, none string) string {
	if s == "" {
		return none
	}
	return cliClean(s)
}

// cliTime formats an RFC 3339 time of the API in UTC to the second.
func cliTime(s, none string) string {
	if s == "" {
		return none
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return cliClean(s)
	}
	if t.IsZero() {
		return none
	}
	return t.UTC().Format(time.RFC3339)
}

func cliYesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func cliModels(m []string) string {
	if len(m) == 0 {
		return "any"
	}
	out := make([]string, len(m))
	for i, s := range m {
		out[i] = cliClean(s)
	}
	return strings.Join(out, ", ")
}

// cliPairs formats a map as "k=v, ..." sorted by key.
func cliPairs(m map[string]string) string {
	if len(m) == 0 {
		return "-"
	}
	var b strings.Builder
	for i, k := range slices.Sorted(maps.Keys(m)) {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(cliClean(k) + "=" + cliClean(m[k]))
	}
	return b.String()
}

func (l cliLimits) String() string {
	var parts []string
	add := func(p *int64, unit string) {
		if p != nil && *p != 0 {
			parts = append(parts, fmt.Sprintf("%d %s", *p, unit))
		}
	}
	add(l.RPM, "rpm")
	add(l.RPD, "rpd")
	add(l.TPM, "tpm")
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func (b cliBudget) String() string {
	var parts []string
	add := func(p *float64, per string) {
		if p != nil && *p != 0 {
			parts = append(parts, "$"+strconv.FormatFloat(*p, 'f', -1, 64)+"/"+per)
		}
	}
	add(b.DailyUSD, "day")
	add(b.MonthlyUSD, "month")
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func (t *cliToken) status() string {
	switch {
	case t.Revoked:
		return "revoked"
	case t.ExpiresAt != "":
		if e, err := time.Parse(time.RFC3339Nano, t.ExpiresAt); err == nil && !e.IsZero() && !e.After(time.Now()) {
			return "expired"
		}
	}
	return "active"
}

// cliTable writes rows under a header, aligned.
func cliTable(w io.Writer, header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// cliFields writes one record as "Field: value" lines, aligned.
func cliFields(w io.Writer, fields [][2]string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, f := range fields {
		fmt.Fprintf(tw, "%s:\t%s\n", f[0], f[1])
	}
	return tw.Flush()
}

func (s *cliService) fields() [][2]string {
	return [][2]string{
		{"ID", cliClean(s.ID)},
		{"Name", cliClean(s.Name)},
		{"Active", cliYesNo(s.Active)},
		{"Allowed models", cliModels(s.AllowedModels)},
		{"Limits", s.Limits.String()},
		{"Budget", s.Budget.String()},
		{"Labels", cliPairs(s.Labels)},
		{"Pinned keys", cliPairs(s.PinnedKeys)},
		{"Created", cliTime(s.CreatedAt, "-")},
		{"Updated", cliTime(s.UpdatedAt, "-")},
	}
}

func (t *cliToken) fields() [][2]string {
	f := [][2]string{
		{"ID", cliClean(t.ID)},
		{"Service", cliClean(t.ServiceID)},
		{"Name", cliOr(t.Name, "-")},
		{"Prefix", cliOr(t.Prefix, "-")},
		{"Status", t.status()},
		{"Limits", t.Limits.String()},
		{"Budget", t.Budget.String()},
		{"Labels", cliPairs(t.Labels)},
		{"Expires", cliTime(t.ExpiresAt, "never")},
		{"Last used", cliTime(t.LastUsedAt, "never")},
		{"Created", cliTime(t.CreatedAt, "-")},
	}
	if t.Revoked {
		f = append(f, [2]string{"Revoked", cliTime(t.RevokedAt, "-")})
	}
	return f
}

func (k *cliKey) last4() string {
	if k.Last4 == "" {
		return "-"
	}
	return "****" + cliClean(k.Last4)
}

func (k *cliKey) fields() [][2]string {
	return [][2]string{
		{"ID", cliClean(k.ID)},
		{"Provider", cliClean(k.Provider)},
		{"Label", cliOr(k.Label, "-")},
		{"Priority", strconv.Itoa(k.Priority)},
		{"Key", k.last4()},
		{"Endpoint", cliOr(k.BaseURL, "(the provider's)")},
		{"Created", cliTime(k.CreatedAt, "-")},
	}
}

// ---- flag parsing shared by commands ----

// cliParsePairs parses repeated key=value flags.
func cliParsePairs(flag, want string, vals []string) (map[string]string, error) {
	m := map[string]string{}
	for _, v := range vals {
		k, val, ok := strings.Cut(v, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("--%s %q: want %s", flag, v, want)
		}
		if _, dup := m[k]; dup {
			return nil, fmt.Errorf("--%s: %q is given twice", flag, k)
		}
		m[k] = val
	}
	return m, nil
}

// cliLimitFlags are --rpm, --rpd and --tpm.
type cliLimitFlags struct{ rpm, rpd, tpm int64 }

func (f *cliLimitFlags) register(cmd *cobra.Command) {
	cmd.Flags().Int64Var(&f.rpm, "rpm", 0, "Requests per minute (0: unlimited)")
	cmd.Flags().Int64Var(&f.rpd, "rpd", 0, "Requests per day (0: unlimited)")
	cmd.Flags().Int64Var(&f.tpm, "tpm", 0, "Tokens (input + output) per minute (0: unlimited)")
}

// parse returns the limits given and whether any was.
func (f *cliLimitFlags) parse(cmd *cobra.Command) (cliLimits, bool, error) {
	var l cliLimits
	set := false
	for _, x := range []struct {
		name string
		v    int64
		dst  **int64
	}{{"rpm", f.rpm, &l.RPM}, {"rpd", f.rpd, &l.RPD}, {"tpm", f.tpm, &l.TPM}} {
		if !cmd.Flags().Changed(x.name) {
			continue
		}
		if x.v < 0 {
			return l, false, fmt.Errorf("--%s must be 0 (unlimited) or more, got %d", x.name, x.v)
		}
		*x.dst = new(x.v)
		set = true
	}
	return l, set, nil
}

// overlay sets in l the limits set in o.
func (l cliLimits) overlay(o cliLimits) cliLimits {
	if o.RPM != nil {
		l.RPM = o.RPM
	}
	if o.RPD != nil {
		l.RPD = o.RPD
	}
	if o.TPM != nil {
		l.TPM = o.TPM
	}
	return l
}

// cliBudgetFlags are --daily-usd and --monthly-usd.
type cliBudgetFlags struct{ daily, monthly float64 }

func (f *cliBudgetFlags) register(cmd *cobra.Command) {
	cmd.Flags().Float64Var(&f.daily, "daily-usd", 0, "Spend allowed per UTC day, in US dollars (0: none)")
	cmd.Flags().Float64Var(&f.monthly, "monthly-usd", 0, "Spend allowed per UTC month, in US dollars (0: none)")
}

func (f *cliBudgetFlags) parse(cmd *cobra.Command) (cliBudget, bool, error) {
	var b cliBudget
	set := false
	for _, x := range []struct {
		name string
		v    float64
		dst  **float64
	}{{"daily-usd", f.daily, &b.DailyUSD}, {"monthly-usd", f.monthly, &b.MonthlyUSD}} {
		if !cmd.Flags().Changed(x.name) {
			continue
		}
		if math.IsNaN(x.v) || math.IsInf(x.v, 0) || x.v < 0 {
			return b, false, fmt.Errorf("--%s must be a number of dollars, 0 or more", x.name)
		}
		*x.dst = new(x.v)
		set = true
	}
	return b, set, nil
}

func (b cliBudget) overlay(o cliBudget) cliBudget {
	if o.DailyUSD != nil {
		b.DailyUSD = o.DailyUSD
	}
	if o.MonthlyUSD != nil {
		b.MonthlyUSD = o.MonthlyUSD
	}
	return b
}

// cliMapEdit is a set of additions (--label, --pin) and removals
// (--unlabel, --unpin) to a map of the record.
type cliMapEdit struct {
	set    map[string]string
	remove []string
}

func (e cliMapEdit) empty() bool { return len(e.set) == 0 && len(e.remove) == 0 }

func (e cliMapEdit) apply(cur map[string]string) map[string]string {
	m := maps.Clone(cur)
	if m == nil {
		m = map[string]string{}
	}
	for _, k := range e.remove {
		delete(m, k)
	}
	maps.Copy(m, e.set)
	return m
}

func cliParseEdit(setFlag, removeFlag, want string, set, remove []string) (cliMapEdit, error) {
	m, err := cliParsePairs(setFlag, want, set)
	if err != nil {
		return cliMapEdit{}, err
	}
	for k, v := range m {
		if setFlag == "pin" && v == "" {
			return cliMapEdit{}, fmt.Errorf("--pin %s=: the key ID is missing", k)
		}
	}
	for _, k := range remove {
		if strings.TrimSpace(k) == "" {
			return cliMapEdit{}, fmt.Errorf("--%s needs a key", removeFlag)
		}
		if _, both := m[k]; both {
			return cliMapEdit{}, fmt.Errorf("%q is given to both --%s and --%s", k, setFlag, removeFlag)
		}
	}
	return cliMapEdit{set: m, remove: remove}, nil
}

// cliExpiry reads --expires-in and --expires-at; at most one may be given.
func cliExpiry(cmd *cobra.Command, in, at string) (d time.Duration, t time.Time, err error) {
	fl := cmd.Flags()
	if fl.Changed("expires-in") && fl.Changed("expires-at") {
		return 0, t, errors.New("give --expires-in or --expires-at, not both")
	}
	if fl.Changed("expires-in") {
		d, err = caddy.ParseDuration(in)
		if err != nil || d <= 0 {
			return 0, t, fmt.Errorf("--expires-in %q: want a positive duration such as 720h, 90m or 30d", in)
		}
	}
	if fl.Changed("expires-at") {
		t, err = time.Parse(time.RFC3339, at)
		if err != nil {
			return 0, t, fmt.Errorf("--expires-at %q: want an RFC 3339 time such as 2030-01-02T15:04:05Z", at)
		}
		if !t.After(time.Now()) {
			return 0, t, fmt.Errorf("--expires-at %s is not in the future", at)
		}
	}
	return d, t, nil
}

func cliCheckName(flag, name string) error {
	if strings.TrimSpace(name) == "" {
		return fmt.Errorf("--%s must not be empty", flag)
	}
	return nil
}

func cliCheckModels(models []string) error {
	for _, m := range models {
		if strings.TrimSpace(m) == "" {
			return errors.New("--allow-model must not be empty; give a model name or a glob such as 'gpt-4o*'")
		}
	}
	return nil
}

func cliServicePath(id string) string { return cliServicesPath + "/" + url.PathEscape(id) }

func cliTokenPath(id string) string { return cliTokensPath + "/" + url.PathEscape(id) }

func cliKeysPath(provider string) string {
	return cliProvidersPath + "/" + url.PathEscape(provider) + "/keys"
}

// ---- services ----

func (c *cliState) servicesCmd() *cobra.Command {
	return cliGroup("services <command>", "service",
		"Manage services: the apps, teams or projects that own tokens",
		c.servicesList(), c.servicesCreate(), c.servicesShow(), c.servicesUpdate(), c.servicesDeactivate())
}

func (c *cliState) servicesList() *cobra.Command {
	var lf cliListFlags
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List services",
		Args:    cliArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			q, err := lf.query(cmd)
			if err != nil {
				return err
			}
			res, err := c.fetchList(cliServicesPath, q, lf.all)
			if err != nil {
				return err
			}
			return c.printList(cmd, res, "services", func(w io.Writer) error {
				ss, err := cliItems[cliService](res.items)
				if err != nil {
					return err
				}
				rows := make([][]string, 0, len(ss))
				for _, s := range ss {
					rows = append(rows, []string{cliClean(s.ID), cliClean(s.Name), cliYesNo(s.Active), cliModels(s.AllowedModels),
						s.Limits.String(), s.Budget.String(), cliTime(s.CreatedAt, "-")})
				}
				return cliTable(w, []string{"ID", "NAME", "ACTIVE", "MODELS", "LIMITS", "BUDGET", "CREATED"}, rows)
			})
		},
	}
	lf.register(cmd)
	return cmd
}

// cliServiceFlags are the flags of services create and update.
type cliServiceFlags struct {
	models []string
	labels []string
	limits cliLimitFlags
	budget cliBudgetFlags
}

func (f *cliServiceFlags) register(cmd *cobra.Command, update bool) {
	modelHelp := "Allow this model or glob (* and ?); repeat for more (default: every model)"
	labelHelp := "Set the label key=value; repeat for more"
	if update {
		modelHelp = "Allow only these models or globs (* and ?), replacing the list; repeat for more"
		labelHelp = "Add or change the label key=value, keeping the others; repeat for more"
	}
	cmd.Flags().StringArrayVar(&f.models, "allow-model", nil, modelHelp)
	cmd.Flags().StringArrayVar(&f.labels, "label", nil, labelHelp)
	f.limits.register(cmd)
	f.budget.register(cmd)
}

func (c *cliState) printService(cmd *cobra.Command, raw []byte, s *cliService) error {
	if c.json {
		return cliPrintJSON(cmd.OutOrStdout(), raw)
	}
	return cliFields(cmd.OutOrStdout(), s.fields())
}

func (c *cliState) servicesCreate() *cobra.Command {
	var f cliServiceFlags
	cmd := &cobra.Command{
		Use:   "create <name>",
		Short: "Create a service",
		Long: `
Creates a service. Without --allow-model it may use every model. Limits and
budgets of 0 mean none.`,
		Example: `  $ caddy llm-gateway services create billing --allow-model 'gpt-4o*' --allow-model 'claude-*' --label team=payments`,
		Args:    cliArgs("name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			body := map[string]any{"name": args[0]}
			if err := cliCheckModels(f.models); err != nil {
				return err
			}
			if len(f.models) > 0 {
				body["allowed_models"] = f.models
			}
			labels, err := cliParsePairs("label", "key=value", f.labels)
			if err != nil {
				return err
			}
			if len(labels) > 0 {
				body["labels"] = labels
			}
			limits, ok, err := f.limits.parse(cmd)
			if err != nil {
				return err
			}
			if ok {
				body["limits"] = limits
			}
			budget, ok, err := f.budget.parse(cmd)
			if err != nil {
				return err
			}
			if ok {
				body["budget"] = budget
			}
			var s cliService
			raw, err := c.do(http.MethodPost, cliServicesPath, nil, body, &s)
			if err != nil {
				return err
			}
			return c.printService(cmd, raw, &s)
		},
	}
	f.register(cmd, false)
	return cmd
}

func (c *cliState) servicesShow() *cobra.Command {
	return &cobra.Command{
		Use:     "show <id>",
		Aliases: []string{"get"},
		Short:   "Show a service",
		Args:    cliArgs("id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var s cliService
			raw, err := c.do(http.MethodGet, cliServicePath(args[0]), nil, nil, &s)
			if err != nil {
				return err
			}
			return c.printService(cmd, raw, &s)
		},
	}
}

func (c *cliState) servicesUpdate() *cobra.Command {
	var (
		f                      cliServiceFlags
		name                   string
		active, anyModel       bool
		pins, unpins, unlabels []string
	)
	cmd := &cobra.Command{
		Use:   "update <id>",
		Short: "Change a service",
		Long: `
Changes the given fields of a service; the others are kept.

--allow-model replaces the list of allowed models (--any-model empties it).
--label and --pin add or change one entry and keep the others; --unlabel and
--unpin remove one. A limit or budget flag changes only that limit. These
read the service first, then send the whole map or object.`,
		Example: `  $ caddy llm-gateway services update svc_01J... --active=false
  $ caddy llm-gateway services update svc_01J... --pin openai=pk_01J... --label env=prod`,
		Args: cliArgs("id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			fl := cmd.Flags()
			body := map[string]any{}
			if fl.Changed("name") {
				if err := cliCheckName("name", name); err != nil {
					return err
				}
				body["name"] = name
			}
			if fl.Changed("active") {
				body["active"] = active
			}
			if len(f.models) > 0 && anyModel {
				return errors.New("give --allow-model or --any-model, not both")
			}
			if err := cliCheckModels(f.models); err != nil {
				return err
			}
			if len(f.models) > 0 {
				body["allowed_models"] = f.models
			}
			if anyModel {
				body["allowed_models"] = []string{}
			}
			labels, err := cliParseEdit("label", "unlabel", "key=value", f.labels, unlabels)
			if err != nil {
				return err
			}
			pinned, err := cliParseEdit("pin", "unpin", "provider=key-id", pins, unpins)
			if err != nil {
				return err
			}
			limits, limitsSet, err := f.limits.parse(cmd)
			if err != nil {
				return err
			}
			budget, budgetSet, err := f.budget.parse(cmd)
			if err != nil {
				return err
			}
			merge := !labels.empty() || !pinned.empty() || limitsSet || budgetSet
			if len(body) == 0 && !merge {
				return errors.New("nothing to change; give at least one flag (see --help)")
			}
			if merge {
				// PATCH replaces a whole object or map: start from the
				// current one.
				raw, err := c.call(http.MethodGet, cliServicePath(args[0]), nil, nil)
				if err != nil {
					return err
				}
				var cur cliService
				if err := json.Unmarshal(raw, &cur); err != nil {
					return cliBadJSON(err)
				}
				if !labels.empty() {
					body["labels"] = labels.apply(cur.Labels)
				}
				if !pinned.empty() {
					body["pinned_keys"] = pinned.apply(cur.PinnedKeys)
				}
				if limitsSet {
					body["limits"] = cur.Limits.overlay(limits)
				}
				if budgetSet {
					body["budget"] = cur.Budget.overlay(budget)
				}
			}
			var s cliService
			raw, err := c.do(http.MethodPatch, cliServicePath(args[0]), nil, body, &s)
			if err != nil {
				return err
			}
			return c.printService(cmd, raw, &s)
		},
	}
	f.register(cmd, true)
	cmd.Flags().StringVar(&name, "name", "", "Rename the service")
	cmd.Flags().BoolVar(&active, "active", true, "Activate (--active) or deactivate (--active=false) the service")
	cmd.Flags().BoolVar(&anyModel, "any-model", false, "Allow every model (empty the allowed list)")
	cmd.Flags().StringArrayVar(&unlabels, "unlabel", nil, "Remove the label with this key; repeat for more")
	cmd.Flags().StringArrayVar(&pins, "pin", nil, "Make the service use this stored key of a provider: provider=key-id; repeat for more")
	cmd.Flags().StringArrayVar(&unpins, "unpin", nil, "Stop pinning a key for this provider; repeat for more")
	return cmd
}

func (c *cliState) servicesDeactivate() *cobra.Command {
	return &cobra.Command{
		Use:   "deactivate <id>",
		Short: "Deactivate a service: its tokens stop working until it is reactivated",
		Long: `
Deactivates a service: requests with its tokens are refused until it is
reactivated with 'services update <id> --active=true'. Nothing is deleted.`,
		Args: cliArgs("id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var s cliService
			raw, err := c.do(http.MethodDelete, cliServicePath(args[0]), nil, nil, &s)
			if err != nil || c.json {
				if err == nil {
					err = cliPrintJSON(cmd.OutOrStdout(), raw)
				}
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Service %s (%s) deactivated.\n", cliOr(s.ID, args[0]), cliClean(s.Name))
			return nil
		},
	}
}

// ---- tokens ----

func (c *cliState) tokensCmd() *cobra.Command {
	return cliGroup("tokens <command>", "token",
		"Manage gateway tokens: the credentials clients of a service send",
		c.tokensList(), c.tokensCreate(), c.tokensShow(), c.tokensUpdate(), c.tokensRevoke(), c.tokensRevokeAll())
}

func (c *cliState) printToken(cmd *cobra.Command, raw []byte, t *cliToken) error {
	if c.json {
		return cliPrintJSON(cmd.OutOrStdout(), raw)
	}
	return cliFields(cmd.OutOrStdout(), t.fields())
}

func (c *cliState) tokensList() *cobra.Command {
	var (
		lf      cliListFlags
		service string
	)
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List tokens (never their secret)",
		Args:    cliArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			q, err := lf.query(cmd)
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("service") {
				if strings.TrimSpace(service) == "" {
					return errors.New("--service must not be empty")
				}
				q.Set("service", service)
			}
			res, err := c.fetchList(cliTokensPath, q, lf.all)
			if err != nil {
				return err
			}
			return c.printList(cmd, res, "tokens", func(w io.Writer) error {
				ts, err := cliItems[cliToken](res.items)
				if err != nil {
					return err
				}
				rows := make([][]string, 0, len(ts))
				for _, t := range ts {
					rows = append(rows, []string{cliClean(t.ID), cliClean(t.ServiceID), cliOr(t.Name, "-"), cliOr(t.Prefix, "-"),
						t.status(), cliTime(t.ExpiresAt, "never"), cliTime(t.LastUsedAt, "never"), cliTime(t.CreatedAt, "-")})
				}
				return cliTable(w, []string{"ID", "SERVICE", "NAME", "PREFIX", "STATUS", "EXPIRES", "LAST USED", "CREATED"}, rows)
			})
		},
	}
	lf.register(cmd)
	cmd.Flags().StringVar(&service, "service", "", "Only the tokens of this service ID")
	return cmd
}

// cliTokenWarning is printed on stderr after a new token.
const cliTokenWarning = "warning: this is the only time the token is shown; store it securely now. It cannot be retrieved again: if it is lost, revoke it and create another."

func (c *cliState) tokensCreate() *cobra.Command {
	var (
		name, expiresIn, expiresAt string
		labels                     []string
		limits                     cliLimitFlags
		budget                     cliBudgetFlags
	)
	cmd := &cobra.Command{
		Use:   "create <service-id>",
		Short: "Create a token for a service and print it, once",
		Long: `
Creates a token for a service and prints it. The token is shown only this
once (a warning on stderr says so): the gateway keeps only its hash. With
--json, the printed JSON holds it as "token".

Without --expires-in or --expires-at the token does not expire.`,
		Example: `  $ caddy llm-gateway tokens create svc_01J... --name ci --expires-in 720h
  $ caddy llm-gateway tokens create svc_01J... --expires-at 2030-01-01T00:00:00Z --json`,
		Args: cliArgs("service-id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			body := map[string]any{}
			if cmd.Flags().Changed("name") {
				if err := cliCheckName("name", name); err != nil {
					return err
				}
				body["name"] = name
			}
			d, at, err := cliExpiry(cmd, expiresIn, expiresAt)
			if err != nil {
				return err
			}
			if d > 0 {
				body["expires_in"] = expiresIn
			}
			if !at.IsZero() {
				body["expires_at"] = at.Format(time.RFC3339Nano)
			}
			l, ok, err := limits.parse(cmd)
			if err != nil {
				return err
			}
			if ok {
				body["limits"] = l
			}
			bud, ok, err := budget.parse(cmd)
			if err != nil {
				return err
			}
			if ok {
				body["budget"] = bud
			}
			lb, err := cliParsePairs("label", "key=value", labels)
			if err != nil {
				return err
			}
			if len(lb) > 0 {
				body["labels"] = lb
			}
			raw, err := c.call(http.MethodPost, cliServicePath(args[0])+"/tokens", nil, body)
			if err != nil {
				return err
			}
			var t cliToken
			if err := json.Unmarshal(raw, &t); err != nil {
				return cliBadJSON(err)
			}
			if t.Token == "" {
				return errors.New("the admin API's answer has no token")
			}
			if c.json {
				err = cliPrintJSON(cmd.OutOrStdout(), raw)
			} else {
				err = cliFields(cmd.OutOrStdout(), append([][2]string{{"Token", cliClean(t.Token)}}, t.fields()...))
			}
			fmt.Fprintln(cmd.ErrOrStderr(), cliTokenWarning)
			return err
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "Name of the token (default: the server's, \"default\")")
	cmd.Flags().StringVar(&expiresIn, "expires-in", "", "Expire after this duration, such as 720h or 30d")
	cmd.Flags().StringVar(&expiresAt, "expires-at", "", "Expire at this RFC 3339 time, such as 2030-01-02T15:04:05Z")
	cmd.Flags().StringArrayVar(&labels, "label", nil, "Set the label key=value; repeat for more")
	limits.register(cmd)
	budget.register(cmd)
	return cmd
}

func (c *cliState) tokensShow() *cobra.Command {
	return &cobra.Command{
		Use:     "show <id>",
		Aliases: []string{"get"},
		Short:   "Show a token (never its secret)",
		Args:    cliArgs("id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var t cliToken
			raw, err := c.do(http.MethodGet, cliTokenPath(args[0]), nil, nil, &t)
			if err != nil {
				return err
			}
			return c.printToken(cmd, raw, &t)
		},
	}
}

func (c *cliState) tokensUpdate() *cobra.Command {
	var (
		name, expiresIn, expiresAt string
		labels, unlabels           []string
		limits                     cliLimitFlags
		budget                     cliBudgetFlags
	)
	cmd := &cobra.Command{
		Use:   "update <id>",
		Short: "Change a token's name, expiry, limits or labels",
		Long: `
Changes the given fields of a token; the others are kept. --expires-in is
counted from now. --label adds or changes one label and --unlabel removes
one, keeping the others; a limit flag changes only that limit. These read
the token first, then send the whole map or object.`,
		Args: cliArgs("id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			body := map[string]any{}
			if cmd.Flags().Changed("name") {
				if err := cliCheckName("name", name); err != nil {
					return err
				}
				body["name"] = name
			}
			d, at, err := cliExpiry(cmd, expiresIn, expiresAt)
			if err != nil {
				return err
			}
			if d > 0 {
				at = time.Now().Add(d)
			}
			if !at.IsZero() {
				body["expires_at"] = at.UTC().Format(time.RFC3339)
			}
			edit, err := cliParseEdit("label", "unlabel", "key=value", labels, unlabels)
			if err != nil {
				return err
			}
			l, limitsSet, err := limits.parse(cmd)
			if err != nil {
				return err
			}
			bud, budgetSet, err := budget.parse(cmd)
			if err != nil {
				return err
			}
			merge := !edit.empty() || limitsSet || budgetSet
			if len(body) == 0 && !merge {
				return errors.New("nothing to change; give at least one flag (see --help)")
			}
			if merge {
				raw, err := c.call(http.MethodGet, cliTokenPath(args[0]), nil, nil)
				if err != nil {
					return err
				}
				var cur cliToken
				if err := json.Unmarshal(raw, &cur); err != nil {
					return cliBadJSON(err)
				}
				if !edit.empty() {
					body["labels"] = edit.apply(cur.Labels)
				}
				if limitsSet {
					body["limits"] = cur.Limits.overlay(l)
				}
				if budgetSet {
					body["budget"] = cur.Budget.overlay(bud)
				}
			}
			var t cliToken
			raw, err := c.do(http.MethodPatch, cliTokenPath(args[0]), nil, body, &t)
			if err != nil {
				return err
			}
			return c.printToken(cmd, raw, &t)
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "Rename the token")
	cmd.Flags().StringVar(&expiresIn, "expires-in", "", "Expire this long from now, such as 720h or 30d")
	cmd.Flags().StringVar(&expiresAt, "expires-at", "", "Expire at this RFC 3339 time, such as 2030-01-02T15:04:05Z")
	cmd.Flags().StringArrayVar(&labels, "label", nil, "Add or change the label key=value; repeat for more")
	cmd.Flags().StringArrayVar(&unlabels, "unlabel", nil, "Remove the label with this key; repeat for more")
	limits.register(cmd)
	budget.register(cmd)
	return cmd
}

func (c *cliState) tokensRevoke() *cobra.Command {
	return &cobra.Command{
		Use:   "revoke <id>",
		Short: "Revoke a token",
		Args:  cliArgs("id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var t cliToken
			raw, err := c.do(http.MethodDelete, cliTokenPath(args[0]), nil, nil, &t)
			if err != nil || c.json {
				if err == nil {
					err = cliPrintJSON(cmd.OutOrStdout(), raw)
				}
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Token %s revoked.\n", cliOr(t.ID, args[0]))
			return nil
		},
	}
}

func (c *cliState) tokensRevokeAll() *cobra.Command {
	return &cobra.Command{
		Use:   "revoke-all <service-id>",
		Short: "Revoke every token of a service",
		Args:  cliArgs("service-id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var out struct {
				Revoked int `json:"revoked"`
			}
			raw, err := c.do(http.MethodPost, cliServicePath(args[0])+"/tokens/revoke", nil, nil, &out)
			if err != nil || c.json {
				if err == nil {
					err = cliPrintJSON(cmd.OutOrStdout(), raw)
				}
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Revoked %d token(s) of service %s.\n", out.Revoked, cliClean(args[0]))
			return nil
		},
	}
}

// ---- provider keys ----

func (c *cliState) keysCmd() *cobra.Command {
	return cliGroup("keys <command>", "key",
		"Manage the upstream providers' API keys the gateway uses",
		c.keysList(), c.keysAdd(), c.keysDelete())
}

func (c *cliState) keysList() *cobra.Command {
	return &cobra.Command{
		Use:     "list <provider>",
		Aliases: []string{"ls"},
		Short:   "List a provider's stored keys (never the secret)",
		Args:    cliArgs("provider"),
		RunE: func(cmd *cobra.Command, args []string) error {
			res, err := c.fetchList(cliKeysPath(args[0]), nil, false)
			if err != nil {
				return err
			}
			return c.printList(cmd, res, "keys for "+cliClean(args[0]), func(w io.Writer) error {
				ks, err := cliItems[cliKey](res.items)
				if err != nil {
					return err
				}
				rows := make([][]string, 0, len(ks))
				for _, k := range ks {
					rows = append(rows, []string{cliClean(k.ID), cliOr(k.Label, "-"), strconv.Itoa(k.Priority), k.last4(), cliTime(k.CreatedAt, "-")})
				}
				return cliTable(w, []string{"ID", "LABEL", "PRIORITY", "KEY", "CREATED"}, rows)
			})
		},
	}
}

func (c *cliState) keysAdd() *cobra.Command {
	var (
		label    string
		priority int
		baseURL  string
	)
	cmd := &cobra.Command{
		Use:   "add <provider>",
		Short: "Store a provider API key, read from stdin",
		Long: `
Stores an API key for a provider. The key is read from standard input, one
line, and never from a flag or an argument, so that it stays out of shell
history and of the process list. On a terminal it is prompted for and not
echoed. The gateway seals it; it is never shown again (lists show its last
four characters).

Keys with a lower --priority are preferred. --base-url ties the key to
another endpoint of the provider, such as one Azure resource among several;
a service pins such a key with ` + "`services update <id> --pin <provider>=<key id>`" + `.`,
		Example: `  $ caddy llm-gateway keys add openai --label primary < openai.key
  $ pass show openai/api-key | caddy llm-gateway keys add openai --priority 10`,
		Args: cliArgs("provider"),
		RunE: func(cmd *cobra.Command, args []string) error {
			body := map[string]any{}
			if cmd.Flags().Changed("label") {
				if err := cliCheckName("label", label); err != nil {
					return err
				}
				body["label"] = label
			}
			if cmd.Flags().Changed("priority") {
				if priority < 0 {
					return fmt.Errorf("--priority must be 0 (preferred) or more, got %d", priority)
				}
				body["priority"] = priority
			}
			if baseURL != "" {
				if u, err := url.Parse(baseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
					return fmt.Errorf("--base-url must be an absolute http or https URL, got %q", baseURL)
				}
				body["base_url"] = baseURL
			}
			key, err := cliReadSecret(cmd, args[0])
			if err != nil {
				return err
			}
			body["key"] = key
			var k cliKey
			raw, err := c.do(http.MethodPost, cliKeysPath(args[0]), nil, body, &k)
			if err != nil {
				return cliRedact(err, key)
			}
			if c.json {
				return cliPrintJSON(cmd.OutOrStdout(), raw)
			}
			return cliFields(cmd.OutOrStdout(), k.fields())
		},
	}
	cmd.Flags().StringVar(&label, "label", "", "A name for the key (default: the server's, \"default\")")
	cmd.Flags().IntVar(&priority, "priority", 0, "Preference among the provider's keys, lower first")
	cmd.Flags().StringVar(&baseURL, "base-url", "", "Endpoint the key belongs to (e.g. an Azure resource); default: the provider's base_url")
	return cmd
}

// cliReadSecret reads a provider key: from the terminal without echo, or
// the first line of stdin.
func cliReadSecret(cmd *cobra.Command, provider string) (string, error) {
	in := cmd.InOrStdin()
	if f, ok := in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprintf(cmd.ErrOrStderr(), "Paste the %s API key and press Enter (it is not echoed): ", cliClean(provider))
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(cmd.ErrOrStderr())
		if err != nil {
			return "", fmt.Errorf("reading the key from the terminal: %v", err)
		}
		return cliCheckSecret(string(b))
	}
	line, err := bufio.NewReader(io.LimitReader(in, cliMaxSecret+2)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("reading the key from stdin: %v", err)
	}
	return cliCheckSecret(line)
}

func cliCheckSecret(s string) (string, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return "", errors.New("no key on stdin: pipe or redirect it in, e.g. 'caddy llm-gateway keys add openai < openai.key'")
	case len(s) > cliMaxSecret:
		return "", fmt.Errorf("the key on stdin is longer than %d bytes", cliMaxSecret)
	case strings.ContainsFunc(s, func(r rune) bool { return r <= 0x20 || r == 0x7f }):
		return "", errors.New("the key on stdin contains spaces or control characters; give the key alone on the first line")
	}
	return s, nil
}

// cliRedact removes secret from err's message.
func cliRedact(err error, secret string) error {
	if secret == "" || !strings.Contains(err.Error(), secret) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), secret, "[redacted]"))
}

func (c *cliState) keysDelete() *cobra.Command {
	return &cobra.Command{
		Use:     "delete <provider> <id>",
		Aliases: []string{"rm"},
		Short:   "Delete a stored provider key",
		Args:    cliArgs("provider", "id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			raw, err := c.call(http.MethodDelete, cliKeysPath(args[0])+"/"+url.PathEscape(args[1]), nil, nil)
			if err != nil || c.json {
				if err == nil {
					err = cliPrintJSON(cmd.OutOrStdout(), raw)
				}
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Key %s of %s deleted.\n", cliClean(args[1]), cliClean(args[0]))
			return nil
		},
	}
}
