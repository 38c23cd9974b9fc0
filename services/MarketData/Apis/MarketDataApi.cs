using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Platform.BuildingBlocks;
using Platform.MarketData.Import;
using Platform.MarketData.Providers;
using Platform.MarketData.Replay;
using Platform.OfflineStore;
using Platform.Quant;

namespace Platform.MarketData.Apis;

public sealed record IntervalCoverage(string Interval, DateTimeOffset First, DateTimeOffset Last, long Count);
public sealed record SymbolInfo(string Symbol, IReadOnlyList<IntervalCoverage> Intervals);
public sealed record BarDto(DateTimeOffset Time, double Open, double High, double Low, double Close, double Volume, double? AdjClose, double? Vwap);
/// <summary>One page of bars; pass <see cref="NextCursor"/> as <c>cursor</c> for the next page (null: last page).</summary>
public sealed record BarsPage(string Symbol, string Interval, IReadOnlyList<BarDto> Bars, string? NextCursor);

/// <summary>Body of <c>POST /v1/market/imports</c>: the CSV itself (<see cref="Content"/>) or a server-side <see cref="Path"/>.</summary>
public sealed record ImportRequest(
    string Symbol, string? Content = null, string? Path = null, string? Interval = null, bool SkipInvalid = false, bool Overwrite = false,
    string? Columns = null, string? Delimiter = null, string? DecimalSeparator = null, string? TimeZone = null,
    string? DateFormat = null, string? TimeFormat = null);

/// <summary>Body of <c>POST /v1/market/fetches</c>: bars from a vendor, imported like a file.</summary>
public sealed record FetchRequest(string Provider, string Symbol, string? Interval, DateOnly From, DateOnly To, bool Overwrite = false);

/// <summary>The marketdata HTTP API under <c>/v1/market</c>.</summary>
public static class MarketDataApi
{
    public const int DefaultLimit = 1000;
    public const int MaxLimit = 10_000;

    public static RouteGroupBuilder MapMarketDataApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/market").WithTags("Market data");
        group.MapGet("/symbols", GetSymbols).WithName("GetSymbols").WithSummary("Stored symbols with coverage (first, last, count) per interval.");
        group.MapGet("/{symbol}/bars", GetBars).WithName("GetBars")
            .WithSummary("A page of bars in time order; JSON, or CSV with Accept: text/csv or format=csv. from inclusive, to exclusive.");
        group.MapPost("/imports", PostImport).WithName("PostImport").DisableAntiforgery()
            .WithSummary("Imports a delimited file (inline content, a server-side path, or a multipart upload): all valid rows or nothing.");
        group.MapPost("/fetches", PostFetch).WithName("PostFetch").WithSummary("Fetches bars from a vendor (polygon, alphavantage) and imports them.");
        group.MapPost("/replays", PostReplay).WithName("PostReplay").WithSummary("Starts a replay of a file or a stored range as BarClosed events.");
        group.MapGet("/replays/{id}", GetReplay).WithName("GetReplay").WithSummary("A replay's status and progress.");
        group.MapDelete("/replays/{id}", DeleteReplay).WithName("CancelReplay").WithSummary("Cancels a replay.");
        return group;
    }

    public static async Task<Ok<IReadOnlyList<SymbolInfo>>> GetSymbols(IBarReader reader, CancellationToken ct)
    {
        var coverage = await reader.GetCoverageAsync(ct: ct);
        IReadOnlyList<SymbolInfo> symbols = coverage.GroupBy(c => c.Symbol)
            .Select(g => new SymbolInfo(g.Key, g.Select(c => new IntervalCoverage(c.Interval.Name, c.First, c.Last, c.Count)).ToList()))
            .ToList();
        return TypedResults.Ok(symbols);
    }

    public static async Task<Results<Ok<BarsPage>, ContentHttpResult, ValidationProblem, ProblemHttpResult>> GetBars(
        string symbol, IBarReader reader, HttpContext http, string? interval = null, DateTimeOffset? from = null, DateTimeOffset? to = null,
        int? limit = null, string? cursor = null, string? format = null, CancellationToken ct = default)
    {
        var errors = new Dictionary<string, string[]>();
        if (!BarInterval.TryParse(interval ?? "1d", out var barInterval))
            errors["interval"] = [$"Unknown interval '{interval}'. Use a number followed by m, h, d or w (1m, 5m, 1h, 1d)."];
        if (from is { } f && to is { } t && f >= t) errors["from"] = ["'from' must be before 'to' (from is inclusive, to exclusive)."];
        if (limit is < 1 or > MaxLimit) errors["limit"] = [$"'limit' must be between 1 and {MaxLimit}."];
        DateTimeOffset? after = null;
        if (cursor is not null)
        {
            if (DecodeCursor(cursor) is { } c) after = c;
            else errors["cursor"] = ["The cursor is not one this API returned."];
        }
        if (format is not null and not "csv" and not "json") errors["format"] = ["'format' must be csv or json."];
        if (errors.Count > 0) return TypedResults.ValidationProblem(errors, title: "Invalid bar query");

        var coverage = await reader.GetCoverageAsync(symbol, ct);
        if (coverage.Count == 0)
            return TypedResults.Problem($"No bars are stored for symbol '{symbol}'.", statusCode: StatusCodes.Status404NotFound, title: "Unknown symbol");

        var take = limit ?? DefaultLimit;
        var start = after is { } a ? (from is { } ff && ff > a.AddTicks(1) ? ff : a.AddTicks(1)) : from;
        var bars = await reader.GetBarsAsync(new BarQuery(symbol, barInterval, start, to, take + 1), ct);
        var next = bars.Count > take ? EncodeCursor(bars[take - 1].Time) : null;
        var page = bars.Take(take).Select(b => new BarDto(b.Time, b.Open, b.High, b.Low, b.Close, b.Volume, b.AdjClose, b.Vwap)).ToList();

        var wantsCsv = format == "csv" || (format is null && http.Request.GetTypedHeaders().Accept.Any(h => h.MediaType.Equals("text/csv", StringComparison.OrdinalIgnoreCase)));
        if (!wantsCsv) return TypedResults.Ok(new BarsPage(symbol, barInterval.Name, page, next));
        if (next is not null) http.Response.Headers["X-Next-Cursor"] = next;
        var csv = new StringBuilder("time,open,high,low,close,volume,adj_close,vwap\n");
        var inv = CultureInfo.InvariantCulture;
        foreach (var b in page)
            csv.Append(b.Time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", inv)).Append(',')
               .Append(b.Open.ToString("R", inv)).Append(',').Append(b.High.ToString("R", inv)).Append(',')
               .Append(b.Low.ToString("R", inv)).Append(',').Append(b.Close.ToString("R", inv)).Append(',')
               .Append(b.Volume.ToString("R", inv)).Append(',').Append(b.AdjClose?.ToString("R", inv)).Append(',')
               .Append(b.Vwap?.ToString("R", inv)).Append('\n');
        return TypedResults.Content(csv.ToString(), "text/csv; charset=utf-8");
    }

    public static async Task<Results<Created<ImportReport>, Ok<ImportReport>, ValidationProblem, ProblemHttpResult>> PostImport(
        HttpRequest request, BarImporter importer, RuntimeSettings runtime, MarketDataOptions options, CancellationToken ct)
    {
        ImportRequest? body;
        Stream? upload = null;
        string source;
        if (request.HasFormContentType)
        {
            var form = await request.ReadFormAsync(ct);
            var file = form.Files.FirstOrDefault();
            string? F(string k) => form.TryGetValue(k, out var v) && v.Count > 0 ? v[0] : null;
            body = new ImportRequest(F("symbol") ?? "", Interval: F("interval"), SkipInvalid: F("skipInvalid") is "true", Overwrite: F("overwrite") is "true",
                Columns: F("columns"), Delimiter: F("delimiter"), DecimalSeparator: F("decimalSeparator"), TimeZone: F("timeZone"),
                DateFormat: F("dateFormat"), TimeFormat: F("timeFormat"));
            if (file is null) return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["file"] = ["A multipart import needs a file part."] });
            if (file.Length > options.Imports.MaxContentBytes)
                return TypedResults.Problem($"The upload is {file.Length} bytes, over the {options.Imports.MaxContentBytes}-byte limit.", statusCode: StatusCodes.Status413PayloadTooLarge);
            upload = file.OpenReadStream();
            source = file.FileName;
        }
        else
        {
            body = await request.ReadFromJsonAsync<ImportRequest>(ct);
            source = body?.Path ?? "upload";
        }
        if (body is null) return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["body"] = ["A JSON body is required."] });

        var (importOptions, errors) = ToOptions(body);
        if (upload is null && (body.Content is null) == (body.Path is null)) errors["content"] = ["Give exactly one of 'content' and 'path' (or upload a file)."];
        string? path = null;
        if (body.Path is not null && upload is null)
        {
            path = System.IO.Path.GetFullPath(body.Path, runtime.DataDir);
            var roots = options.Imports.AllowedRoots.Count > 0 ? options.Imports.AllowedRoots : [runtime.DataDir];
            if (!roots.Any(r => path.StartsWith(System.IO.Path.GetFullPath(r).TrimEnd('/') + "/", StringComparison.Ordinal)))
                errors["path"] = [$"'{body.Path}' is outside the directories imports may read (MarketData:Imports:AllowedRoots)."];
            else if (!File.Exists(path)) errors["path"] = [$"No file at '{body.Path}'."];
        }
        if (errors.Count > 0 || importOptions is null) return TypedResults.ValidationProblem(errors, title: "Invalid import request");

        ImportReport report;
        if (upload is not null)
            await using (upload) report = await importer.ImportAsync(upload, source, importOptions, null, ct);
        else if (path is not null)
            report = await importer.ImportFileAsync(path, importOptions, null, ct);
        else
        {
            using var content = new MemoryStream(Encoding.UTF8.GetBytes(body.Content!));
            report = await importer.ImportAsync(content, source, importOptions, null, ct);
        }
        if (!report.Committed) return Rejected(report);
        return report.Inserted + report.Updated > 0 ? TypedResults.Created($"/v1/market/{Uri.EscapeDataString(report.Symbol)}/bars?interval={report.Interval}", report) : TypedResults.Ok(report);
    }

    private static ProblemHttpResult Rejected(ImportReport report) => TypedResults.Problem(
        detail: report.Error ?? "The import was rejected.", statusCode: StatusCodes.Status422UnprocessableEntity, title: "Import rejected",
        extensions: new Dictionary<string, object?> { ["report"] = report, ["errors"] = report.Messages().Take(1000).ToList() });

    public static (ImportOptions? Options, Dictionary<string, string[]> Errors) ToOptions(ImportRequest body)
    {
        var errors = new Dictionary<string, string[]>();
        if (string.IsNullOrWhiteSpace(body.Symbol)) errors["symbol"] = ["A symbol is required."];
        BarInterval? interval = null;
        if (body.Interval is not null)
        {
            if (BarInterval.TryParse(body.Interval, out var i)) interval = i;
            else errors["interval"] = [$"Unknown interval '{body.Interval}'."];
        }
        TimeZoneInfo? tz = null;
        try { if (body.TimeZone is not null) tz = BarFileLayout.ParseTimeZone(body.TimeZone); }
        catch (TimeZoneNotFoundException) { errors["timeZone"] = [$"Unknown time zone '{body.TimeZone}' (use an IANA id such as Europe/Berlin)."]; }
        IReadOnlyList<ColumnRole>? columns = null;
        try { if (body.Columns is not null) columns = BarFileLayout.ParseColumns(body.Columns); }
        catch (FormatException ex) { errors["columns"] = [ex.Message]; }
        var delimiter = Char(body.Delimiter, "delimiter", errors);
        var decimalSeparator = Char(body.DecimalSeparator, "decimalSeparator", errors);
        if (errors.Count > 0) return (null, errors);
        var options = new ImportOptions(body.Symbol.Trim())
        {
            Interval = interval, SkipInvalid = body.SkipInvalid, Overwrite = body.Overwrite, Delimiter = delimiter,
            DecimalSeparator = decimalSeparator, DateFormat = body.DateFormat, TimeFormat = body.TimeFormat, TimeZone = tz,
        };
        if (columns is not null)
            options = options with
            {
                Layout = new BarFileLayout
                {
                    Columns = columns, Delimiter = delimiter ?? ',', DecimalSeparator = decimalSeparator ?? '.', DateFormat = body.DateFormat,
                    TimeFormat = body.TimeFormat, TimeZone = tz ?? TimeZoneInfo.Utc,
                },
            };
        return (options, errors);
    }

    private static char? Char(string? text, string name, Dictionary<string, string[]> errors)
    {
        if (text is null) return null;
        if (text is "\\t" or "tab") return '\t';
        if (text.Length == 1) return text[0];
        errors[name] = [$"'{name}' must be one character (or \\t)."];
        return null;
    }

    public static async Task<Results<Created<ImportReport>, Ok<ImportReport>, ValidationProblem, ProblemHttpResult>> PostFetch(
        FetchRequest body, IEnumerable<IBarProvider> providers, BarImporter importer, CancellationToken ct)
    {
        var provider = providers.FirstOrDefault(p => p.Name.Equals(body.Provider, StringComparison.OrdinalIgnoreCase));
        var errors = new Dictionary<string, string[]>();
        if (provider is null) errors["provider"] = [$"Unknown provider '{body.Provider}'. Known: {string.Join(", ", providers.Select(p => p.Name))}."];
        if (!BarInterval.TryParse(body.Interval ?? "1d", out var interval)) errors["interval"] = [$"Unknown interval '{body.Interval}'."];
        if (body.From > body.To) errors["from"] = ["'from' must not be after 'to'."];
        if (string.IsNullOrWhiteSpace(body.Symbol)) errors["symbol"] = ["A symbol is required."];
        if (errors.Count > 0) return TypedResults.ValidationProblem(errors, title: "Invalid fetch request");
        IReadOnlyList<Bar> bars;
        try
        {
            bars = await provider!.FetchAsync(body.Symbol, interval, body.From, body.To, ct);
        }
        catch (Exception ex) when (ex is ProviderException or ProviderThrottledException)
        {
            return TypedResults.Problem(ex.Message, statusCode: StatusCodes.Status502BadGateway, title: "Provider error");
        }
        var report = await importer.ImportBarsAsync($"{provider.Name}:{body.Symbol}", new ImportOptions(body.Symbol) { Interval = interval, Overwrite = body.Overwrite }, bars, ct);
        if (!report.Committed) return Rejected(report);
        return report.Inserted + report.Updated > 0 ? TypedResults.Created($"/v1/market/{Uri.EscapeDataString(body.Symbol)}/bars?interval={interval}", report) : TypedResults.Ok(report);
    }

    public static async Task<Results<Accepted<ReplayState>, ValidationProblem>> PostReplay(ReplayRequest body, ReplayService replays, CancellationToken ct)
    {
        try
        {
            var state = await replays.StartAsync(body, ct);
            return TypedResults.Accepted($"/v1/market/replays/{state.Id}", state);
        }
        catch (ReplayRequestException ex)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["replay"] = [ex.Message] }, title: "Invalid replay request");
        }
    }

    public static async Task<Results<Ok<ReplayState>, ProblemHttpResult>> GetReplay(string id, ReplayService replays, CancellationToken ct) =>
        await replays.GetAsync(id, ct) is { } state
            ? TypedResults.Ok(state)
            : TypedResults.Problem($"No replay '{id}'.", statusCode: StatusCodes.Status404NotFound, title: "Unknown replay");

    public static async Task<Results<Accepted, ProblemHttpResult>> DeleteReplay(string id, ReplayService replays, CancellationToken ct) =>
        await replays.CancelAsync(id, ct)
            ? TypedResults.Accepted($"/v1/market/replays/{id}")
            : TypedResults.Problem($"No replay '{id}'.", statusCode: StatusCodes.Status404NotFound, title: "Unknown replay");

    internal static string EncodeCursor(DateTimeOffset t) => Convert.ToBase64String(BitConverter.GetBytes(t.UtcTicks)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    internal static DateTimeOffset? DecodeCursor(string cursor)
    {
        try
        {
            var s = cursor.Replace('-', '+').Replace('_', '/');
            var bytes = Convert.FromBase64String(s.PadRight(s.Length + (4 - s.Length % 4) % 4, '='));
            if (bytes.Length != 8) return null;
            var ticks = BitConverter.ToInt64(bytes);
            return ticks is >= 0 and <= 3155378975999999999 ? new DateTimeOffset(ticks, TimeSpan.Zero) : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
