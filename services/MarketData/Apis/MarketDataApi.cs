using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.OpenApi;
using Platform.Contracts;
using Platform.MarketData.Files;
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

/// <summary>
/// JSON body of <c>POST /v1/market/imports</c>: the CSV itself (<see cref="Content"/>) or a server-side <see cref="Path"/>
/// (see <see cref="ServerFiles"/>). The same fields travel as form fields beside a multipart upload.
/// </summary>
public sealed record ImportRequest(
    [property: Required, Symbol] string Symbol,
    string? Content = null,
    [property: StringLength(ServerFiles.MaxPathLength)] string? Path = null,
    [property: StringLength(8)] string? Interval = null,
    bool SkipInvalid = false,
    bool Overwrite = false,
    [property: StringLength(512)] string? Columns = null,
    [property: StringLength(3)] string? Delimiter = null,
    [property: StringLength(3)] string? DecimalSeparator = null,
    [property: StringLength(64)] string? TimeZone = null,
    [property: StringLength(64)] string? DateFormat = null,
    [property: StringLength(64)] string? TimeFormat = null);

/// <summary>Body of <c>POST /v1/market/fetches</c>: bars from a vendor, imported like a file. Both dates are required.</summary>
public sealed record FetchRequest(
    [property: Required, StringLength(32)] string Provider,
    [property: Required, Symbol] string Symbol,
    [property: StringLength(8)] string? Interval,
    [property: Required] DateOnly? From,
    [property: Required] DateOnly? To,
    bool Overwrite = false);

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
        // One route, two bodies: routing picks the endpoint by Content-Type. Without one, the JSON endpoint (first in
        // order) answers, and refuses the body with 415 like any other type it cannot read.
        // OpenAPI has one operation per path and method: the JSON endpoint's describes both bodies.
        group.MapPost("/imports", PostImport).WithName("PostImport")
            .WithSummary("Imports a delimited file, given inline or as a server-side path (JSON) or uploaded (multipart/form-data): all valid rows or nothing.")
            .ProducesValidationProblem().ProducesProblem(StatusCodes.Status413PayloadTooLarge).ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity)
            .AddOpenApiOperationTransformer((operation, _, _) =>
            {
                if (operation.RequestBody?.Content is { } content) content["multipart/form-data"] = new OpenApiMediaType { Schema = UploadSchema() };
                return Task.CompletedTask;
            });
        group.MapPost("/imports", PostImportUpload).WithName("PostImportUpload").DisableAntiforgery().WithOrder(1).ExcludeFromDescription();
        group.MapPost("/fetches", PostFetch).WithName("PostFetch").WithSummary("Fetches bars from a vendor (polygon, alphavantage) and imports them.")
            .ProducesValidationProblem().ProducesProblem(StatusCodes.Status502BadGateway).ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        group.MapPost("/replays", PostReplay).WithName("PostReplay").WithSummary("Starts a replay of a file or a stored range as BarClosed events.")
            .ProducesValidationProblem();
        group.MapGet("/replays/{id}", GetReplay).WithName("GetReplay").WithSummary("A replay's status and progress.");
        group.MapDelete("/replays/{id}", DeleteReplay).WithName("CancelReplay").WithSummary("Cancels a replay.");
        return group;
    }

    /// <summary>The multipart body of an upload: the file and the fields of <see cref="ImportRequest"/> other than content and path.</summary>
    private static OpenApiSchema UploadSchema()
    {
        static OpenApiSchema Text() => new() { Type = JsonSchemaType.String };
        static OpenApiSchema Flag() => new() { Type = JsonSchemaType.Boolean };
        return new OpenApiSchema
        {
            Type = JsonSchemaType.Object,
            Required = new HashSet<string> { "file", "symbol" },
            Properties = new Dictionary<string, IOpenApiSchema>
            {
                ["file"] = new OpenApiSchema { Type = JsonSchemaType.String, Format = "binary" },
                ["symbol"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = Symbols.Rule, MaxLength = Symbols.MaxLength },
                ["interval"] = Text(), ["skipInvalid"] = Flag(), ["overwrite"] = Flag(), ["columns"] = Text(), ["delimiter"] = Text(),
                ["decimalSeparator"] = Text(), ["timeZone"] = Text(), ["dateFormat"] = Text(), ["timeFormat"] = Text(),
            },
        };
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
        if (!Symbols.IsValid(symbol)) errors["symbol"] = [$"The symbol must be {Symbols.Rule}."];
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
        [FromBody] ImportRequest body, BarImporter importer, ServerFiles files, MarketDataOptions options, CancellationToken ct)
    {
        var (importOptions, errors) = ToOptions(body);
        if ((body.Content is null) == (body.Path is null)) errors["content"] = ["Give exactly one of 'content' and 'path' (or upload a file)."];
        string? path = null;
        if (body.Path is not null && !files.TryResolve(body.Path, out path, out var pathError)) errors["path"] = [pathError];
        if (errors.Count > 0 || importOptions is null) return TypedResults.ValidationProblem(errors, title: "Invalid import request");
        if (path is not null && TooLarge(path, options) is { } tooLarge) return tooLarge;

        ImportReport report;
        if (path is not null) report = await importer.ImportFileAsync(path, importOptions, null, ct);
        else
        {
            using var content = new MemoryStream(Encoding.UTF8.GetBytes(body.Content!));
            report = await importer.ImportAsync(content, "upload", importOptions, null, ct);
        }
        return Answer(report);
    }

    public static async Task<Results<Created<ImportReport>, Ok<ImportReport>, ValidationProblem, ProblemHttpResult>> PostImportUpload(
        IFormFile? file, [FromForm] string? symbol, [FromForm] string? interval, [FromForm] bool? skipInvalid, [FromForm] bool? overwrite,
        [FromForm] string? columns, [FromForm] string? delimiter, [FromForm] string? decimalSeparator, [FromForm] string? timeZone,
        [FromForm] string? dateFormat, [FromForm] string? timeFormat, BarImporter importer, MarketDataOptions options, CancellationToken ct)
    {
        var body = new ImportRequest(symbol!, Interval: interval, SkipInvalid: skipInvalid ?? false, Overwrite: overwrite ?? false, Columns: columns,
            Delimiter: delimiter, DecimalSeparator: decimalSeparator, TimeZone: timeZone, DateFormat: dateFormat, TimeFormat: timeFormat);
        var (importOptions, errors) = ToOptions(body);
        if (file is null) errors["file"] = ["A multipart import needs a file part named 'file'."];
        if (errors.Count > 0 || importOptions is null) return TypedResults.ValidationProblem(errors, title: "Invalid import request");
        if (file!.Length > options.Imports.MaxContentBytes)
            return TypedResults.Problem($"The upload is {file.Length} bytes, over the {options.Imports.MaxContentBytes}-byte limit.", statusCode: StatusCodes.Status413PayloadTooLarge);
        var name = Path.GetFileName(file.FileName);
        await using var upload = file.OpenReadStream();
        return Answer(await importer.ImportAsync(upload, string.IsNullOrWhiteSpace(name) ? "upload" : BarValidation.Printable(name), importOptions, null, ct));
    }

    private static ProblemHttpResult? TooLarge(string path, MarketDataOptions options)
    {
        var length = new FileInfo(path).Length;
        return length > options.Imports.MaxContentBytes
            ? TypedResults.Problem($"The file is {length} bytes, over the {options.Imports.MaxContentBytes}-byte limit (MarketData:Imports:MaxContentBytes).",
                statusCode: StatusCodes.Status413PayloadTooLarge)
            : null;
    }

    private static Results<Created<ImportReport>, Ok<ImportReport>, ValidationProblem, ProblemHttpResult> Answer(ImportReport report)
    {
        if (!report.Committed) return Rejected(report);
        return report.Inserted + report.Updated > 0
            ? TypedResults.Created($"/v1/market/{Uri.EscapeDataString(report.Symbol)}/bars?interval={report.Interval}", report)
            : TypedResults.Ok(report);
    }

    private static ProblemHttpResult Rejected(ImportReport report) => TypedResults.Problem(
        detail: report.Error ?? "The import was rejected.", statusCode: StatusCodes.Status422UnprocessableEntity, title: "Import rejected",
        extensions: new Dictionary<string, object?> { ["report"] = report, ["errors"] = report.Messages().Take(1000).ToList() });

    public static (ImportOptions? Options, Dictionary<string, string[]> Errors) ToOptions(ImportRequest body)
    {
        var errors = Validate(body);
        BarInterval? interval = null;
        if (body.Interval is not null)
        {
            if (BarInterval.TryParse(body.Interval, out var i)) interval = i;
            else errors["interval"] = [$"Unknown interval '{body.Interval}'."];
        }
        TimeZoneInfo? tz = null;
        try { if (body.TimeZone is not null) tz = BarFileLayout.ParseTimeZone(body.TimeZone); }
        catch (Exception ex) when (ex is TimeZoneNotFoundException or InvalidTimeZoneException or ArgumentException)
        {
            errors["timeZone"] = [$"Unknown time zone '{BarValidation.Printable(body.TimeZone)}' (use an IANA id such as Europe/Berlin)."];
        }
        if (body.DateFormat is not null && !IsUsableFormat(body.DateFormat, withTime: true))
            errors["dateFormat"] = [$"'{BarValidation.Printable(body.DateFormat)}' is not a date format that reads back what it writes (for example yyyy-MM-dd or yyyyMMdd)."];
        if (body.TimeFormat is not null && !IsUsableFormat(body.TimeFormat, withTime: true))
            errors["timeFormat"] = [$"'{BarValidation.Printable(body.TimeFormat)}' is not a time format that reads back what it writes (for example HH:mm:ss)."];
        IReadOnlyList<ColumnRole>? columns = null;
        try { if (body.Columns is not null) columns = BarFileLayout.ParseColumns(body.Columns); }
        catch (FormatException ex) { errors["columns"] = [ex.Message]; }
        var delimiter = Char(body.Delimiter, "delimiter", errors);
        var decimalSeparator = Char(body.DecimalSeparator, "decimalSeparator", errors);
        if (errors.Count > 0) return (null, errors);
        var options = new ImportOptions(body.Symbol)
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

    /// <summary>The request's DataAnnotations (required fields, the symbol rule, lengths), as validation errors by JSON name.</summary>
    public static Dictionary<string, string[]> Validate(object body)
    {
        var results = new List<ValidationResult>();
        Validator.TryValidateObject(body, new ValidationContext(body), results, validateAllProperties: true);
        return results.SelectMany(r => r.MemberNames.Select(m => (Member: JsonNamingPolicy.CamelCase.ConvertName(m), r.ErrorMessage ?? "Invalid value.")))
            .GroupBy(x => x.Member).ToDictionary(g => g.Key, g => g.Select(x => x.Item2).ToArray());
    }

    /// <summary>A custom format must format a known instant and parse the text back (<c>%</c>, <c>"</c> or a lone quote do not).</summary>
    private static bool IsUsableFormat(string format, bool withTime)
    {
        var sample = new DateTime(2024, 3, 15, withTime ? 13 : 0, withTime ? 45 : 0, 0, DateTimeKind.Utc);
        try
        {
            var text = sample.ToString(format, CultureInfo.InvariantCulture);
            return DateTime.TryParseExact(text, format, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out _);
        }
        catch (FormatException)
        {
            return false;
        }
    }

    private static char? Char(string? text, string name, Dictionary<string, string[]> errors)
    {
        if (text is null) return null;
        if (text is "\\t" or "tab") return '\t';
        if (text.Length == 1) return text[0];
        errors[name] = [$"'{name}' must be one character (or \\t)."];
        return null;
    }

    /// <summary>Longest range one fetch may ask for: intraday vendors answer a month per call.</summary>
    public const int MaxIntradayFetchDays = 366;

    public static async Task<Results<Created<ImportReport>, Ok<ImportReport>, ValidationProblem, ProblemHttpResult>> PostFetch(
        [FromBody] FetchRequest body, IEnumerable<IBarProvider> providers, BarImporter importer, CancellationToken ct)
    {
        var errors = Validate(body);
        var provider = providers.FirstOrDefault(p => p.Name.Equals(body.Provider, StringComparison.OrdinalIgnoreCase));
        if (provider is null && body.Provider is not null)
            errors["provider"] = [$"Unknown provider '{BarValidation.Printable(body.Provider)}'. Known: {string.Join(", ", providers.Select(p => p.Name))}."];
        if (!BarInterval.TryParse(body.Interval ?? "1d", out var interval)) errors["interval"] = [$"Unknown interval '{BarValidation.Printable(body.Interval)}'."];
        if (body.From is { } from && body.To is { } to)
        {
            var min = DateOnly.FromDateTime(BarValidation.MinTime.UtcDateTime);
            var max = DateOnly.FromDateTime(BarValidation.MaxTime.UtcDateTime).AddDays(-1);
            if (from > to) errors["from"] = ["'from' must not be after 'to'."];
            else if (from < min || to > max) errors["from"] = [$"Dates must lie between {min:yyyy-MM-dd} and {max:yyyy-MM-dd}."];
            else if (interval.Length < TimeSpan.FromDays(1) && to.DayNumber - from.DayNumber >= MaxIntradayFetchDays)
                errors["to"] = [$"An intraday fetch covers at most {MaxIntradayFetchDays} days; split the range."];
        }
        if (errors.Count > 0) return TypedResults.ValidationProblem(errors, title: "Invalid fetch request");
        IReadOnlyList<Bar> bars;
        try
        {
            bars = await provider!.FetchAsync(body.Symbol, interval, body.From!.Value, body.To!.Value, ct);
        }
        catch (ProviderNotConfiguredException ex)
        {
            return TypedResults.Problem(ex.Message, statusCode: StatusCodes.Status503ServiceUnavailable, title: "Provider not configured");
        }
        catch (ProviderRequestException ex)
        {
            return TypedResults.Problem(ex.Message, statusCode: StatusCodes.Status422UnprocessableEntity, title: "Not offered by the provider");
        }
        catch (Exception ex) when (ex is ProviderException or ProviderThrottledException)
        {
            return TypedResults.Problem(ex.Message, statusCode: StatusCodes.Status502BadGateway, title: "Provider error");
        }
        return Answer(await importer.ImportBarsAsync($"{provider.Name}:{body.Symbol}",
            new ImportOptions(body.Symbol) { Interval = interval, Overwrite = body.Overwrite }, bars, ct));
    }

    public const int MaxReplaySymbols = 1000;

    public static async Task<Results<Accepted<ReplayState>, ValidationProblem, ProblemHttpResult>> PostReplay(
        [FromBody] ReplayRequest body, ReplayService replays, ServerFiles files, MarketDataOptions options, CancellationToken ct)
    {
        var errors = new Dictionary<string, string[]>();
        if (body.Symbol is not null && !Symbols.IsValid(body.Symbol)) errors["symbol"] = [$"The symbol must be {Symbols.Rule}."];
        if (body.Symbols is { } list)
        {
            if (list.Count > MaxReplaySymbols) errors["symbols"] = [$"At most {MaxReplaySymbols} symbols per replay."];
            else if (list.Where(s => !Symbols.IsValid(s)).Take(1).ToList() is [var bad])
                errors["symbols"] = [$"'{BarValidation.Printable(bad)}' is not {Symbols.Rule}."];
        }
        if (body.Id is not null && !ReplayService.IsValidId(body.Id)) errors["id"] = [ReplayService.IdRule];
        if (body.Speed is { Length: > 32 }) errors["speed"] = ["Use max, realtime, or a multiple such as 10x."];
        string? path = null;
        if (body.Path is not null && !files.TryResolve(body.Path, out path, out var pathError)) errors["path"] = [pathError];
        if (errors.Count > 0) return TypedResults.ValidationProblem(errors, title: "Invalid replay request");
        if (path is not null && TooLarge(path, options) is { } tooLarge) return tooLarge;
        try
        {
            var state = await replays.StartAsync(body with { Path = path }, ct);
            return TypedResults.Accepted($"/v1/market/replays/{state.Id}", state);
        }
        catch (ReplayRequestException ex)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["replay"] = [ex.Message] }, title: "Invalid replay request");
        }
    }

    public static async Task<Results<Ok<ReplayState>, ProblemHttpResult>> GetReplay(string id, ReplayService replays, CancellationToken ct) =>
        ReplayService.IsValidId(id) && await replays.GetAsync(id, ct) is { } state
            ? TypedResults.Ok(state)
            : TypedResults.Problem($"No replay '{BarValidation.Printable(id)}'.", statusCode: StatusCodes.Status404NotFound, title: "Unknown replay");

    public static async Task<Results<Accepted, ProblemHttpResult>> DeleteReplay(string id, ReplayService replays, CancellationToken ct) =>
        ReplayService.IsValidId(id) && await replays.CancelAsync(id, ct)
            ? TypedResults.Accepted($"/v1/market/replays/{id}")
            : TypedResults.Problem($"No replay '{BarValidation.Printable(id)}'.", statusCode: StatusCodes.Status404NotFound, title: "Unknown replay");

    internal static string EncodeCursor(DateTimeOffset t) => Convert.ToBase64String(BitConverter.GetBytes(t.UtcTicks)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    internal static DateTimeOffset? DecodeCursor(string cursor)
    {
        try
        {
            var s = cursor.Replace('-', '+').Replace('_', '/');
            var bytes = Convert.FromBase64String(s.PadRight(s.Length + (4 - s.Length % 4) % 4, '='));
            if (bytes.Length != 8) return null;
            var ticks = BitConverter.ToInt64(bytes);
            // Only times a stored bar can have: the next page starts one tick later, which must stay representable.
            return ticks >= BarValidation.MinTime.UtcTicks && ticks < BarValidation.MaxTime.UtcTicks ? new DateTimeOffset(ticks, TimeSpan.Zero) : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
