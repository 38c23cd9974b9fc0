using Microsoft.AspNetCore.Http.HttpResults;
using Platform.Features.History;
using Platform.Features.Pipeline;
using Platform.Features.Sets;
using Platform.OfflineStore;
using Platform.Quant;
using Platform.Quant.Features;

namespace Platform.Features.Apis;

/// <summary>The latest vector of a series. <see cref="Values"/> follow <see cref="Names"/>; null where a feature is undefined.</summary>
public sealed record FeatureVectorResponse(
    string Symbol, string Interval, string Set, string SetHash, DateTimeOffset Time, IReadOnlyList<string> Names, IReadOnlyList<double?> Values);

public sealed record FeatureHistoryRow(DateTimeOffset Time, IReadOnlyList<double?> Values);

/// <summary>A page of history, oldest first; when <see cref="NextFrom"/> is set, pass it as <c>from</c> for the next page.</summary>
public sealed record FeatureHistoryResponse(
    string Symbol, string Interval, string Set, string SetHash, IReadOnlyList<string> Names, IReadOnlyList<FeatureHistoryRow> Rows, DateTimeOffset? NextFrom);

/// <summary>A feature set: identity, hash, feature names and the text that defines them; whether this deployment computes it.</summary>
public sealed record FeatureSetInfo(
    string Id, string Name, int Version, string Hash, bool Computed, bool IsDefault, int WarmUpPeriod, IReadOnlyList<string> Features, string Definition);

/// <summary>The features HTTP API: <c>/v1/features</c> (vectors) and <c>/v1/feature-sets</c> (definitions).</summary>
public static class FeaturesApi
{
    public const int DefaultLimit = 1000;
    public const int MaxLimit = 10_000;

    public static IEndpointRouteBuilder MapFeaturesApi(this IEndpointRouteBuilder app)
    {
        var features = app.MapGroup("/v1/features").WithTags("Features");
        features.MapGet("/{symbol}/latest", GetLatest).WithName("GetLatestFeatures")
            .WithSummary("The latest feature vector of a symbol (set, interval default to the service's first set and 1d; optional hash must match the set's).");
        features.MapGet("/{symbol}", GetHistory).WithName("GetFeatureHistory")
            .WithSummary("Stored feature vectors of a symbol in time order; from inclusive, to exclusive; page with limit and nextFrom.");

        var sets = app.MapGroup("/v1/feature-sets").WithTags("Feature sets");
        sets.MapGet("/", GetFeatureSets).WithName("GetFeatureSets").WithSummary("Every known feature set: id, name, version, hash, features, definition, and whether it is computed here.");
        sets.MapGet("/{id}", GetFeatureSet).WithName("GetFeatureSet").WithSummary("One feature set by id ({name}@{version}).");
        return app;
    }

    public static async Task<Results<Ok<FeatureVectorResponse>, ValidationProblem, ProblemHttpResult>> GetLatest(
        string symbol, FeatureSetCatalog catalog, OnlineFeatureStore online, IBarReader bars, IFeatureHistory history,
        string? set = null, string? interval = null, string? hash = null, CancellationToken ct = default)
    {
        var errors = new Dictionary<string, string[]>();
        var barInterval = ParseInterval(interval, catalog, errors);
        var (featureSet, problem) = ResolveSet(set, hash, catalog, errors);
        if (errors.Count > 0) return TypedResults.ValidationProblem(errors, title: "Invalid feature query");
        if (problem is not null) return problem;

        var vector = await online.GetAsync(featureSet!.Id, symbol, barInterval.Name, ct);
        if (vector is not null)
            return TypedResults.Ok(new FeatureVectorResponse(vector.Symbol, vector.Interval, vector.Set, vector.SetHash, vector.Time, vector.Names, vector.Values));
        if (!await IsKnownSymbolAsync(symbol, bars, history, ct)) return UnknownSymbol(symbol);
        return TypedResults.Problem($"No {featureSet.Id} features of '{symbol}' at interval {barInterval} have been computed yet.",
            statusCode: StatusCodes.Status404NotFound, title: "No features yet");
    }

    public static async Task<Results<Ok<FeatureHistoryResponse>, ValidationProblem, ProblemHttpResult>> GetHistory(
        string symbol, FeatureSetCatalog catalog, IFeatureHistory history, IBarReader bars,
        string? set = null, string? interval = null, DateTimeOffset? from = null, DateTimeOffset? to = null, int? limit = null,
        string? hash = null, CancellationToken ct = default)
    {
        var errors = new Dictionary<string, string[]>();
        var barInterval = ParseInterval(interval, catalog, errors);
        if (from is { } f && to is { } t && f >= t) errors["from"] = ["'from' must be before 'to' (from is inclusive, to exclusive)."];
        if (limit is < 1 or > MaxLimit) errors["limit"] = [$"'limit' must be between 1 and {MaxLimit}."];
        var (featureSet, problem) = ResolveSet(set, hash, catalog, errors);
        if (errors.Count > 0) return TypedResults.ValidationProblem(errors, title: "Invalid feature query");
        if (problem is not null) return problem;

        var take = limit ?? DefaultLimit;
        var rows = await history.GetAsync(new FeatureHistoryQuery(featureSet!.Id, symbol, barInterval, from, to, take + 1), ct);
        if (rows.Count == 0 && !await IsKnownSymbolAsync(symbol, bars, history, ct)) return UnknownSymbol(symbol);
        var next = rows.Count > take ? rows[take].Time : (DateTimeOffset?)null;
        var page = rows.Take(take).Select(r => new FeatureHistoryRow(r.Time, FeatureJson.Nullable(r.Values))).ToList();
        return TypedResults.Ok(new FeatureHistoryResponse(symbol, barInterval.Name, featureSet.Id, featureSet.Hash, featureSet.Features, page, next));
    }

    public static Ok<IReadOnlyList<FeatureSetInfo>> GetFeatureSets(FeatureSetCatalog catalog) =>
        TypedResults.Ok<IReadOnlyList<FeatureSetInfo>>(FeatureSets.All.Select(s => Info(s, catalog)).ToList());

    public static Results<Ok<FeatureSetInfo>, ValidationProblem, ProblemHttpResult> GetFeatureSet(string id, FeatureSetCatalog catalog)
    {
        if (!FeatureSetCatalog.IsWellFormed(id))
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["id"] = [MalformedSet(id)] }, title: "Invalid feature set id");
        return FeatureSets.TryGet(id, out var set) ? TypedResults.Ok(Info(set, catalog)) : UnknownSet(id);
    }

    private static FeatureSetInfo Info(FeatureSet set, FeatureSetCatalog catalog) => new(
        set.Id, set.Name, set.Version, set.Hash, catalog.IsComputed(set.Id), catalog.Default.Id == set.Id,
        FeatureSets.CreateCalculator(set.Id).WarmUpPeriod, set.Features, set.Definition);

    private static BarInterval ParseInterval(string? interval, FeatureSetCatalog catalog, Dictionary<string, string[]> errors)
    {
        if (BarInterval.TryParse(interval ?? catalog.DefaultInterval, out var parsed)) return parsed;
        errors["interval"] = [$"Unknown interval '{interval}'. Use a number followed by m, h, d or w (1m, 5m, 1h, 1d)."];
        return default;
    }

    /// <summary>The requested set: a malformed id is a validation error (400), an unknown or uncomputed one 404, a hash mismatch 400.</summary>
    private static (FeatureSet? Set, ProblemHttpResult? Problem) ResolveSet(string? id, string? hash, FeatureSetCatalog catalog, Dictionary<string, string[]> errors)
    {
        id ??= catalog.Default.Id;
        if (!FeatureSetCatalog.IsWellFormed(id))
        {
            errors["set"] = [MalformedSet(id)];
            return (null, null);
        }
        try
        {
            return (catalog.Resolve(id, hash), null);
        }
        catch (UnknownFeatureSetException)
        {
            return (null, UnknownSet(id));
        }
        catch (FeatureSetNotComputedException ex)
        {
            return (null, TypedResults.Problem(ex.Message, statusCode: StatusCodes.Status404NotFound, title: "Feature set not computed",
                extensions: new Dictionary<string, object?> { ["computedSets"] = catalog.ComputedIds }));
        }
        catch (FeatureSetMismatchException ex)
        {
            return (null, TypedResults.Problem(ex.Message, statusCode: StatusCodes.Status400BadRequest, title: "Feature set mismatch",
                extensions: new Dictionary<string, object?> { ["set"] = ex.Set.Id, ["hash"] = ex.Set.Hash, ["expectedHash"] = ex.ExpectedHash }));
        }
    }

    private static string MalformedSet(string id) => $"'{id}' is not a feature set id; use {{name}}@{{version}}, e.g. {FeatureSets.Alpha158V1.Id}.";

    private static ProblemHttpResult UnknownSet(string id) => TypedResults.Problem(
        $"Unknown feature set '{id}'. Known feature sets: {string.Join(", ", FeatureSets.Ids)}.",
        statusCode: StatusCodes.Status404NotFound, title: "Unknown feature set",
        extensions: new Dictionary<string, object?> { ["knownSets"] = FeatureSets.Ids });

    private static ProblemHttpResult UnknownSymbol(string symbol) => TypedResults.Problem(
        $"No bars or features are stored for symbol '{symbol}'.", statusCode: StatusCodes.Status404NotFound, title: "Unknown symbol");

    private static async Task<bool> IsKnownSymbolAsync(string symbol, IBarReader bars, IFeatureHistory history, CancellationToken ct) =>
        (await bars.GetCoverageAsync(symbol, ct)).Count > 0 || (await history.GetCoverageAsync(symbol, ct)).Count > 0;
}
