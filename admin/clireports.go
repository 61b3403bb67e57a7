package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
)

// The report commands of `caddy llm-gateway`: usage, audit and cache.

const (
	cliUsagePath = "/llm_gateway/usage"
	cliAuditPath = "/llm_gateway/audit"
	cliCachePath = "/llm_gateway/cache"
)

// cliUsageRow is a usage row as the API answers it.
type cliUsageRow struct {
	Period       string  `json:"period"`
	Requests     int64   `json:"requests"`
	InputTokens  int64   `json:"input_tokens"`
	OutputTokens int64   `json:"output_tokens"`
	CachedTokens int64   `json:"cached_tokens"`
	SpendUSD     float64 `json:"spend_usd"`
	CacheHits    int64   `json:"cache_hits"`
}

func (c *cliState) usageCmd() *cobra.Command {
	var service, token, period, from, to string
	cmd := &cobra.Command{
		Use:   "usage",
		Short: "Show requests, tokens, spend and cache hits per day or month",
		Long: `
Shows usage per UTC day (default: the last 30 days) or month (--period
month, default: the last 12 months) of one service (--service), one token
(--token) or the whole gateway (neither): requests, input, output and
cached tokens, spend in USD, and cache hits. --from and --to take a date
(2026-11-01), a month (2026-11) or an RFC 3339 time; --to is exclusive.
`,
		Example: `  $ caddy llm-gateway usage --service svc_01J...
  $ caddy llm-gateway usage --token tok_01J... --period month --from 2026-01`,
		Args: cliArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			q := url.Values{}
			for flag, v := range map[string]string{"service": service, "token": token, "period": period, "from": from, "to": to} {
				if cmd.Flags().Changed(flag) {
					if strings.TrimSpace(v) == "" {
						return fmt.Errorf("--%s must not be empty", flag)
					}
					q.Set(flag, v)
				}
			}
			if service != "" && token != "" {
				return errors.New("give --service or --token, not both")
			}
			raw, err := c.call(http.MethodGet, cliUsagePath, q, nil)
			if err != nil {
				return err
			}
			if c.json {
				return cliPrintJSON(cmd.OutOrStdout(), raw)
			}
			var page struct {
				Data []cliUsageRow `json:"data"`
			}
			if err := json.Unmarshal(raw, &page); err != nil {
				return cliBadJSON(err)
			}
			if len(page.Data) == 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "No usage in this period.")
				return nil
			}
			var total cliUsageRow
			rows := make([][]string, 0, len(page.Data)+1)
			for _, u := range page.Data {
				rows = append(rows, usageCells(cliClean(u.Period), u))
				total.Requests += u.Requests
				total.InputTokens += u.InputTokens
				total.OutputTokens += u.OutputTokens
				total.CachedTokens += u.CachedTokens
				total.SpendUSD += u.SpendUSD
				total.CacheHits += u.CacheHits
			}
			if len(page.Data) > 1 {
				rows = append(rows, usageCells("TOTAL", total))
			}
			return cliTable(cmd.OutOrStdout(), []string{"PERIOD", "REQUESTS", "INPUT", "OUTPUT", "CACHED", "SPEND USD", "CACHE HITS"}, rows)
		},
	}
	f := cmd.Flags()
	f.StringVar(&service, "service", "", "Usage of this service ID")
	f.StringVar(&token, "token", "", "Usage of this token ID")
	f.StringVar(&period, "period", "", "day (default) or month")
	f.StringVar(&from, "from", "", "First day or month (inclusive)")
	f.StringVar(&to, "to", "", "End (exclusive)")
	return cmd
}

func usageCells(period string, u cliUsageRow) []string {
	return []string{period, strconv.FormatInt(u.Requests, 10), strconv.FormatInt(u.InputTokens, 10),
		strconv.FormatInt(u.OutputTokens, 10), strconv.FormatInt(u.CachedTokens, 10),
		strconv.FormatFloat(u.SpendUSD, 'f', 6, 64), strconv.FormatInt(u.CacheHits, 10)}
}

// cliAudit is an audit record as the API answers it.
type cliAudit struct {
	ID            string  `json:"id"`
	Time          string  `json:"time"`
	ServiceID     string  `json:"service_id"`
	TokenID       string  `json:"token_id"`
	Model         string  `json:"model"`
	Provider      string  `json:"provider"`
	Status        int     `json:"status"`
	ErrorType     string  `json:"error_type"`
	InputTokens   int64   `json:"input_tokens"`
	OutputTokens  int64   `json:"output_tokens"`
	CostUSD       float64 `json:"cost_usd"`
	CacheHit      bool    `json:"cache_hit"`
	Stream        bool    `json:"stream"`
	LatencyMS     float64 `json:"latency_ms"`
	UsageEstimate bool    `json:"usage_estimated"`
}

func (c *cliState) auditCmd() *cobra.Command {
	var (
		lf                       cliListFlags
		service, token, from, to string
		status                   int
	)
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "List audit records, newest first",
		Long: `
Lists the audit log, newest first: one record per request, rejections
included. Filter by --service, --token, --status, --from and --to (a date,
a month or an RFC 3339 time; --to is exclusive). --json shows every field,
including captured bodies when capture_bodies is configured.
`,
		Example: `  $ caddy llm-gateway audit --service svc_01J... --status 429
  $ caddy llm-gateway audit --from 2026-11-20 --all --json`,
		Args: cliArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			q, err := lf.query(cmd)
			if err != nil {
				return err
			}
			for flag, v := range map[string]string{"service": service, "token": token, "from": from, "to": to} {
				if cmd.Flags().Changed(flag) {
					if strings.TrimSpace(v) == "" {
						return fmt.Errorf("--%s must not be empty", flag)
					}
					q.Set(flag, v)
				}
			}
			if cmd.Flags().Changed("status") {
				q.Set("status", strconv.Itoa(status))
			}
			res, err := c.fetchList(cliAuditPath, q, lf.all)
			if err != nil {
				return err
			}
			return c.printList(cmd, res, "audit records", func(w io.Writer) error {
				recs, err := cliItems[cliAudit](res.items)
				if err != nil {
					return err
				}
				rows := make([][]string, 0, len(recs))
				for _, a := range recs {
					what := strconv.Itoa(a.Status)
					if a.ErrorType != "" {
						what += " " + cliClean(a.ErrorType)
					}
					flags := ""
					if a.Stream {
						flags += "stream "
					}
					if a.CacheHit {
						flags += "hit "
					}
					if a.UsageEstimate {
						flags += "estimated "
					}
					rows = append(rows, []string{cliTime(a.Time, "-"), cliOr(cliClean(a.ServiceID), "-"), cliOr(cliClean(a.TokenID), "-"),
						cliOr(cliClean(a.Model), "-"), cliOr(cliClean(a.Provider), "-"), what,
						strconv.FormatInt(a.InputTokens, 10) + "/" + strconv.FormatInt(a.OutputTokens, 10),
						strconv.FormatFloat(a.CostUSD, 'f', 6, 64), strconv.FormatFloat(a.LatencyMS, 'f', 0, 64) + "ms",
						cliOr(strings.TrimSpace(flags), "-")})
				}
				return cliTable(w, []string{"TIME", "SERVICE", "TOKEN", "MODEL", "PROVIDER", "STATUS", "TOKENS IN/OUT", "COST USD", "LATENCY", "FLAGS"}, rows)
			})
		},
	}
	lf.register(cmd)
	f := cmd.Flags()
	f.StringVar(&service, "service", "", "Only records of this service ID")
	f.StringVar(&token, "token", "", "Only records of this token ID")
	f.IntVar(&status, "status", 0, "Only records with this HTTP status")
	f.StringVar(&from, "from", "", "Only records at or after this time")
	f.StringVar(&to, "to", "", "Only records before this time")
	return cmd
}

func (c *cliState) cacheCmd() *cobra.Command {
	stats := &cobra.Command{
		Use:   "stats",
		Short: "Show the response cache's entries, size and hit counts",
		Args:  cliArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			raw, err := c.call(http.MethodGet, cliCachePath, nil, nil)
			if err != nil {
				return err
			}
			if c.json {
				return cliPrintJSON(cmd.OutOrStdout(), raw)
			}
			var m map[string]json.Number
			dec := json.NewDecoder(strings.NewReader(string(raw)))
			dec.UseNumber()
			if err := dec.Decode(&m); err != nil {
				return cliBadJSON(err)
			}
			fields := make([][2]string, 0, len(m))
			for _, k := range slices.Sorted(maps.Keys(m)) {
				fields = append(fields, [2]string{cliClean(k), m[k].String()})
			}
			return cliFields(cmd.OutOrStdout(), fields)
		},
	}
	purge := &cobra.Command{
		Use:   "purge",
		Short: "Remove every cached answer",
		Args:  cliArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			raw, err := c.call(http.MethodDelete, cliCachePath, nil, nil)
			if err != nil || c.json {
				if err == nil {
					err = cliPrintJSON(cmd.OutOrStdout(), raw)
				}
				return err
			}
			var out struct {
				Purged int `json:"purged"`
			}
			if err := json.Unmarshal(raw, &out); err != nil {
				return cliBadJSON(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Cache purged: %d stored entries removed.\n", out.Purged)
			return nil
		},
	}
	cmd := &cobra.Command{Use: "cache", Short: "Inspect or purge the response cache", Args: cobra.ArbitraryArgs, RunE: cliGroupRun}
	cmd.AddCommand(stats, purge)
	return cmd
}
