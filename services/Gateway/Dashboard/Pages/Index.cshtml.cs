using System.Diagnostics;
using System.Text.Json;
using Platform.Gateway.Identity;

namespace Platform.Gateway.Dashboard.Pages;

/// <summary>The overview: each service's API as this user reaches it, served champions, data freshness, recent runs, alerts.</summary>
public sealed class IndexModel(GatewayApi api) : DashboardPage(api)
{
    /// <summary>One probe per service: a cheap read of its public API through the gateway.</summary>
    public sealed record Probe(string Service, string Path, string Scope, int? Status, long Milliseconds, string? Problem);

    public sealed record Freshness(string Symbol, string Interval, DateTimeOffset LastBar, long Bars, DateTimeOffset? LastFeatures);

    public sealed record Run(string Model, int Version, string? RunId, DateTimeOffset CreatedAt, string Kind, string Stage);

    public sealed record Alert(string Severity, string What, DateTimeOffset? When);

    public List<Probe> Probes { get; } = [];
    public List<JsonElement> Served { get; } = [];
    public string? Replica { get; private set; }
    public List<JsonElement> Models { get; } = [];
    public List<Freshness> Data { get; } = [];
    public List<Run> Runs { get; } = [];
    public List<Alert> Alerts { get; } = [];

    private static readonly (string Service, string Path, string Scope)[] ProbeTable =
    [
        ("marketdata", "/v1/market/symbols", Scopes.MarketRead),
        ("features", "/v1/feature-sets", Scopes.FeaturesRead),
        ("training", "/v1/models", Scopes.ModelsRead),
        ("serving", "/v1/serving/models", Scopes.ModelsRead),
        ("backtesting", "/v1/backtests/strategies", Scopes.BacktestsWrite),
        ("monitoring", "/v1/monitoring/status", Scopes.ModelsRead),
    ];

    public async Task OnGetAsync(CancellationToken ct)
    {
        var answers = await Task.WhenAll(ProbeTable.Select(async p =>
        {
            if (!Session.Has(p.Scope)) return (p, (ApiAnswer?)null, 0L);
            var clock = Stopwatch.StartNew();
            var answer = await Api.GetAsync(Session, p.Path, ct);
            return (p, answer, clock.ElapsedMilliseconds);
        }));
        var bodies = new Dictionary<string, JsonElement>();
        foreach (var (p, answer, ms) in answers)
        {
            Probes.Add(new Probe(p.Service, p.Path, p.Scope, answer?.Status, ms, answer is { Ok: false } ? answer.Problem : null));
            if (answer is { Ok: true }) bodies[p.Service] = answer.Body;
        }

        if (bodies.TryGetValue("serving", out var serving))
        {
            Served.AddRange(serving.Items("models"));
            Replica = serving.Str("replica");
            foreach (var error in serving.Items("errors"))
                Alerts.Add(new Alert("error", $"Serving could not load {error.Str("model")} v{error.Str("version")}: {error.Str("error") ?? error.Str("message")}", null));
        }
        if (bodies.TryGetValue("training", out var models))
        {
            Models.AddRange(models.Items());
            // Every model's versions and drift at once: the page waits for the slowest call, not for their sum.
            var details = await Task.WhenAll(Models.Take(10).Select(m => m.Str("name")!).Select(async name =>
            {
                var escaped = Uri.EscapeDataString(name);
                var (versions, drift) = (GetOrNoteAsync($"/v1/models/{escaped}/versions", ct), GetOrNoteAsync($"/v1/monitoring/models/{escaped}/drift?limit=5", ct));
                return (Name: name, Versions: await versions, Drift: await drift);
            }));
            foreach (var (name, versions, drift) in details)
            {
                if (versions is { } v)
                    Runs.AddRange(v.Items().Select(r => new Run(name, (int)(r.Num("version") ?? 0), r.Str("runId"),
                        r.Time("createdAt") ?? default, r.Prop("lineage").Str("kind") ?? "", r.Str("stage") ?? "")));
                if (drift is { } d)
                    foreach (var detection in d.Items("detections"))
                        Alerts.Add(new Alert("warning", $"Drift on {name} v{detection.Str("version")}: {string.Join(", ", detection.Items("evidence").Select(Describe))}",
                            detection.Time("detectedAt")));
            }
            Runs.Sort((a, b) => b.CreatedAt.CompareTo(a.CreatedAt));
            if (Runs.Count > 10) Runs.RemoveRange(10, Runs.Count - 10);
        }
        if (bodies.TryGetValue("monitoring", out var monitoring))
            foreach (var r in monitoring.Items("rejected").Take(5))
                Alerts.Add(new Alert("error", $"Monitoring refused a prediction event: {r.Str("reason") ?? r.ToString()}", r.Time("at") ?? r.Time("receivedAt")));
        if (bodies.TryGetValue("marketdata", out var symbols))
        {
            var rows = symbols.Items().SelectMany(s => s.Items("intervals").Select(i => (Symbol: s.Str("symbol")!, Coverage: i))).Take(20).ToList();
            var latest = await Task.WhenAll(rows.Select(async r =>
                Session.Has(Scopes.FeaturesRead) && r.Coverage.Str("interval") is { } interval
                    ? await Api.GetAsync(Session, $"/v1/features/{Uri.EscapeDataString(r.Symbol)}/latest?interval={interval}", ct)
                    : null));
            for (var i = 0; i < rows.Count; i++)
                Data.Add(new Freshness(rows[i].Symbol, rows[i].Coverage.Str("interval") ?? "", rows[i].Coverage.Time("last") ?? default,
                    (long)(rows[i].Coverage.Num("count") ?? 0), latest[i] is { Ok: true } f ? f.Body.Time("time") : null));
        }
    }

    private static string Describe(JsonElement evidence) =>
        string.Join(" ", evidence.EnumerateObjectSafe().Where(p => p.Value.ValueKind is JsonValueKind.String or JsonValueKind.Number)
            .Take(4).Select(p => $"{p.Name}={(p.Value.ValueKind == JsonValueKind.Number ? JsonView.Fmt(p.Value.GetDouble(), "0.###") : p.Value.GetString())}"));
}

internal static class JsonObjects
{
    public static IEnumerable<JsonProperty> EnumerateObjectSafe(this JsonElement e) =>
        e.ValueKind == JsonValueKind.Object ? e.EnumerateObject() : [];
}
