using System.Text.Json;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using Platform.Gateway.Identity;

namespace Platform.Gateway.Dashboard.Pages;

/// <summary>Candles with volume, moving averages, a model's predictions and realised outcomes on one time axis; CSV import.</summary>
public sealed class MarketModel(GatewayApi api, IOptions<DashboardOptions> options) : DashboardPage(api)
{
    public static readonly int[] SmaPeriods = [20, 50, 200];
    private const int MaxPages = 200;

    [BindProperty(SupportsGet = true)] public string? Symbol { get; set; }
    [BindProperty(SupportsGet = true)] public string? Interval { get; set; }
    [BindProperty(SupportsGet = true)] public string? Model { get; set; }
    [BindProperty(SupportsGet = true)] public int[] Sma { get; set; } = [];

    public List<(string Symbol, List<string> Intervals)> Symbols { get; } = [];
    public List<string> ModelNames { get; } = [];
    public int BarCount { get; private set; }
    public int CandleCount { get; private set; }
    public int PredictionCount { get; private set; }
    public string? ChartJson { get; private set; }
    public JsonElement? ImportReport { get; private set; }
    public string? ImportProblem { get; private set; }
    public bool CanImport => Session.Has(Scopes.MarketWrite);

    public async Task OnGetAsync(CancellationToken ct) => await LoadAsync(ct);

    public async Task<IActionResult> OnPostImportAsync(IFormFile? file, [FromForm] string? importSymbol, [FromForm] string? importInterval, CancellationToken ct)
    {
        if (!CanImport) return MissingScope(Scopes.MarketWrite);
        if (file is null || file.Length == 0 || string.IsNullOrWhiteSpace(importSymbol))
            ImportProblem = "Choose a CSV file and name its symbol.";
        else
        {
            using var reader = new StreamReader(file.OpenReadStream());
            var content = await reader.ReadToEndAsync(ct);
            var answer = await Api.PostAsync(Session, "/v1/market/imports",
                new { symbol = importSymbol.Trim(), content, interval = string.IsNullOrWhiteSpace(importInterval) ? null : importInterval.Trim() }, ct);
            if (answer.Ok) ImportReport = answer.Body;
            else
            {
                ImportProblem = answer.Problem;
                if (answer.Body.Prop("report") is { ValueKind: JsonValueKind.Object } report) ImportReport = report;
            }
            Symbol ??= importSymbol.Trim();
        }
        await LoadAsync(ct);
        return Page();
    }

    private async Task LoadAsync(CancellationToken ct)
    {
        if (!Session.Has(Scopes.MarketRead))
        {
            Errors.Add($"Your key lacks '{Scopes.MarketRead}': no market data to show.");
            return;
        }
        if (await GetOrNoteAsync("/v1/market/symbols", ct) is { } symbols)
            foreach (var s in symbols.Items())
                Symbols.Add((s.Str("symbol")!, s.Items("intervals").Select(i => i.Str("interval")!).ToList()));
        if (Session.Has(Scopes.ModelsRead) && await GetOrNoteAsync("/v1/models", ct) is { } models)
            ModelNames.AddRange(models.Items().Select(m => m.Str("name")!));
        if (Symbols.Count == 0) return;
        Symbol = Symbols.FirstOrDefault(s => s.Symbol.Equals(Symbol, StringComparison.OrdinalIgnoreCase)).Symbol ?? Symbols[0].Symbol;
        var intervals = Symbols.First(s => s.Symbol == Symbol).Intervals;
        Interval = intervals.Contains(Interval ?? "") ? Interval : intervals.Contains("1d") ? "1d" : intervals.FirstOrDefault();
        Model ??= ModelNames.FirstOrDefault();

        var bars = new List<Candle>();
        string? cursor = null;
        for (var page = 0; page < MaxPages; page++)
        {
            var path = $"/v1/market/{Uri.EscapeDataString(Symbol)}/bars?interval={Uri.EscapeDataString(Interval ?? "1d")}&limit=10000"
                + (cursor is null ? "" : $"&cursor={Uri.EscapeDataString(cursor)}");
            if (await GetOrNoteAsync(path, ct) is not { } answer) break;
            foreach (var b in answer.Items("bars"))
                bars.Add(new Candle(b.Time("time")!.Value.ToUnixTimeSeconds(), b.Num("open") ?? 0, b.Num("high") ?? 0, b.Num("low") ?? 0,
                    b.Num("close") ?? 0, b.Num("volume") ?? 0));
            if ((cursor = answer.Str("nextCursor")) is null) break;
        }
        BarCount = bars.Count;
        var candles = Candles.Downsample(bars, options.Value.MaxCandles);
        CandleCount = candles.Count;
        var bucket = Math.Max(1, (bars.Count + options.Value.MaxCandles - 1) / options.Value.MaxCandles);

        var averages = new Dictionary<string, object>();
        foreach (var period in Sma.Where(SmaPeriods.Contains).Distinct())
        {
            var sma = Candles.Sma(bars, period);
            // Each candle shows the average as it stood at the candle's last bar.
            averages[$"SMA {period}"] = candles.Select((c, i) => (c.Time, Value: sma[Math.Min(bars.Count - 1, i * bucket + bucket - 1)]))
                .Where(p => p.Value is not null).Select(p => new object[] { p.Time, Math.Round(p.Value!.Value, 6) }).ToList();
        }

        var predictions = new List<object?[]>();
        string? target = null;
        if (Model is not null && Session.Has(Scopes.ModelsRead)
            && await GetOrNoteAsync($"/v1/monitoring/models/{Uri.EscapeDataString(Model)}/predictions?limit=1000", ct) is { } page1)
        {
            foreach (var p in page1.Items("items").Where(p => p.Str("symbol") == Symbol && p.Str("interval") == Interval).Reverse())
            {
                target ??= $"{p.Str("target")} h{p.Str("horizon")}";
                predictions.Add([p.Time("time")!.Value.ToUnixTimeSeconds(), p.Num("prediction"), p.Num("realised")]);
            }
        }
        PredictionCount = predictions.Count;
        ChartJson = JsonView.ForPage(new
        {
            symbol = Symbol,
            candles = candles.Select(c => new[] { c.Time, c.Open, c.High, c.Low, c.Close, c.Volume }),
            averages,
            predictions,
            target,
        });
    }
}
