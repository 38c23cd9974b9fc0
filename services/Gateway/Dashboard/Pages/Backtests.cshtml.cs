using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Mvc;
using Platform.Gateway.Identity;

namespace Platform.Gateway.Dashboard.Pages;

/// <summary>Start a backtest (symbols, strategy, parameters, costs), follow its progress live, read its report.</summary>
public sealed class BacktestsModel(GatewayApi api) : DashboardPage(api)
{
    public const int MaxTradesShown = 500;

    [BindProperty(SupportsGet = true)] public string? Id { get; set; }

    [BindProperty] public string Symbols { get; set; } = "";
    [BindProperty] public string Strategy { get; set; } = "sma-cross";
    [BindProperty] public string? Parameters { get; set; }
    [BindProperty] public string Interval { get; set; } = "1d";
    [BindProperty] public DateOnly? From { get; set; }
    [BindProperty] public DateOnly? To { get; set; }
    [BindProperty] public double InitialCash { get; set; } = 100_000;
    [BindProperty] public double CommissionRate { get; set; } = 0.001;
    [BindProperty] public double SlippageBps { get; set; } = 5;
    [BindProperty] public string? ModelName { get; set; }

    public List<(string Name, string Defaults)> Strategies { get; } = [];
    public List<string> KnownSymbols { get; } = [];
    public List<string> ModelNames { get; } = [];
    public string? FormProblem { get; private set; }
    public JsonElement? Run { get; private set; }
    public string? ChartJson { get; private set; }
    public bool CanRun => Session.Has(Scopes.BacktestsWrite);

    public string Status => Run?.Str("status") ?? "unknown";
    public bool Finished => Status is "completed" or "failed" or "terminated";

    public async Task OnGetAsync(CancellationToken ct)
    {
        if (Id is not null) await LoadRunAsync(ct);
        else await LoadFormAsync(ct);
    }

    public async Task<IActionResult> OnPostAsync(CancellationToken ct)
    {
        if (!CanRun) return MissingScope(Scopes.BacktestsWrite);
        var parameters = new Dictionary<string, double>();
        foreach (var part in (Parameters ?? "").Split([',', ';', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var pair = part.Split('=', 2, StringSplitOptions.TrimEntries);
            if (pair.Length != 2 || !double.TryParse(pair[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            {
                FormProblem = $"Parameters are name=value pairs separated by commas; '{part}' is not one.";
                Response.StatusCode = StatusCodes.Status400BadRequest;
                await LoadFormAsync(ct);
                return Page();
            }
            parameters[pair[0]] = value;
        }
        var spec = new
        {
            symbols = Symbols.Split([',', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            strategy = Strategy,
            interval = Interval,
            from = From?.ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc),
            to = To?.ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc),
            parameters,
            initialCash = InitialCash,
            commission = new { model = "percent", rate = CommissionRate },
            slippage = new { model = "bps", bps = SlippageBps },
            model = Strategy == "model" ? ModelName : null,
        };
        var answer = await Api.PostAsync(Session, "/v1/backtests", spec, ct);
        if (answer.Ok && answer.Body.Str("id") is { } id) return Redirect($"{DashboardExtensions.BasePath}/backtests/{Uri.EscapeDataString(id)}");
        FormProblem = answer.Problem;
        Response.StatusCode = answer.Status is >= 400 and < 500 ? answer.Status : StatusCodes.Status502BadGateway;
        await LoadFormAsync(ct);
        return Page();
    }

    private async Task LoadFormAsync(CancellationToken ct)
    {
        if (!CanRun)
        {
            Errors.Add($"Your key lacks '{Scopes.BacktestsWrite}': backtests cannot be run with it.");
            return;
        }
        if (await GetOrNoteAsync("/v1/backtests/strategies", ct) is { } strategies)
            foreach (var s in strategies.Items())
                Strategies.Add((s.Str("name")!, string.Join(", ", s.Prop("parameters").EnumerateObjectSafe()
                    .Select(p => $"{p.Name}={p.Value.GetDouble().ToString(CultureInfo.InvariantCulture)}"))));
        if (Session.Has(Scopes.MarketRead) && await GetOrNoteAsync("/v1/market/symbols", ct) is { } symbols)
            KnownSymbols.AddRange(symbols.Items().Select(s => s.Str("symbol")!));
        if (Session.Has(Scopes.ModelsRead) && await GetOrNoteAsync("/v1/models", ct) is { } models)
            ModelNames.AddRange(models.Items().Select(m => m.Str("name")!));
        if (Symbols.Length == 0 && KnownSymbols.Count > 0) Symbols = KnownSymbols[0];
    }

    private async Task LoadRunAsync(CancellationToken ct)
    {
        Run = await GetOrNoteAsync($"/v1/backtests/{Uri.EscapeDataString(Id!)}", ct);
        if (Run?.Prop("report") is not { ValueKind: JsonValueKind.Object } report) return;
        ChartJson = JsonView.ForPage(new
        {
            curve = report.Items("curve").Select(p => new object?[]
            {
                p.Time("time")!.Value.ToUnixTimeSeconds(), p.Num("equity"), p.Num("benchmarkEquity"), p.Num("drawdown"), p.Num("benchmarkDrawdown"),
            }),
        });
    }

    /// <summary>The report's statistics as rows of (group, name, strategy, benchmark).</summary>
    public IEnumerable<(string Group, string Name, JsonElement Strategy, JsonElement Benchmark)> StatisticRows()
    {
        if (Run?.Prop("report") is not { ValueKind: JsonValueKind.Object } report) yield break;
        foreach (var group in report.Prop("strategy").EnumerateObjectSafe())
            foreach (var stat in group.Value.EnumerateObjectSafe())
                yield return (group.Name, stat.Name, stat.Value, report.Prop("benchmark").Prop(group.Name).Prop(stat.Name));
    }

    public static string Show(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Number => JsonView.Fmt(value.GetDouble(), "0.####"),
        JsonValueKind.Undefined or JsonValueKind.Null => "–",
        JsonValueKind.String when DateTimeOffset.TryParse(value.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t) => JsonView.Fmt(t),
        _ => value.ToString(),
    };
}
