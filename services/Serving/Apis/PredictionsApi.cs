using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http.HttpResults;
using Platform.Contracts;
using Platform.Serving.Events;
using Platform.Serving.Features;
using Platform.Serving.Models;

namespace Platform.Serving.Apis;

/// <summary>One symbol: features from the online store, or supplied (in the model's feature order).</summary>
public sealed record PredictionRequest(string? Model, string? Symbol, string? Interval, double?[]? Features, DateTimeOffset? Time, string? RequestId);

public sealed record BatchItem(string? Symbol, double?[]? Features, DateTimeOffset? Time);

/// <summary>Many symbols, one model version for all of them.</summary>
public sealed record BatchPredictionRequest(string? Model, string? Interval, IReadOnlyList<string>? Symbols, IReadOnlyList<BatchItem>? Items, string? RequestId);

public sealed record PredictionResponse(
    string RequestId, string Model, int Version, string Symbol, string Interval, double Prediction, string Target, int Horizon,
    string FeatureSet, string FeatureSource, DateTimeOffset? FeatureTime, double? StalenessSeconds);

public sealed record BatchItemError(string Symbol, int Status, string Detail);

public sealed record BatchPredictionResponse(string RequestId, string Model, int Version, IReadOnlyList<PredictionResponse> Predictions, IReadOnlyList<BatchItemError> Errors);

public sealed record ServedModelInfo(
    string Name, int Version, string Kind, string ArtifactSha256, string FeatureSet, int FeatureCount, string Target, int Horizon,
    DateTimeOffset LoadedAt, int InFlight);

public sealed record ServingStatus(
    IReadOnlyList<ServedModelInfo> Models, IReadOnlyList<ModelLoadError> Errors, long PredictionsPublished, long PredictionsFailed, string Replica);

/// <summary><c>/v1/predictions</c> and <c>/v1/serving</c>.</summary>
public static partial class PredictionsApi
{
    public const string DefaultInterval = "1d";
    public const int MaxBatch = 1000;

    /// <summary>How far ahead of this replica's clock a supplied feature time may be (clock skew between a client and the platform).</summary>
    public static readonly TimeSpan MaxClockSkew = TimeSpan.FromMinutes(5);

    /// <summary>The rule a client's <c>requestId</c> must follow; without one the replica draws an id.</summary>
    public const string RequestIdRule = "1 to 128 ASCII letters, digits, '-', '_', '.' or ':'";

    [GeneratedRegex("^[0-9]{1,4}[smhdwM]?[a-z]{0,2}$")]
    private static partial Regex IntervalPattern();

    public static IEndpointRouteBuilder MapPredictionsApi(this IEndpointRouteBuilder app)
    {
        var predictions = app.MapGroup("/v1/predictions").WithTags("predictions");
        predictions.MapPost("/", PredictAsync).WithName("Predict")
            .WithSummary("Prediction for one symbol from the champion of a model.")
            .Accepts<PredictionRequest>("application/json").Produces<PredictionResponse>().ProducesValidationProblem().ProducesProblem(404);
        predictions.MapPost("/batch", PredictBatchAsync).WithName("PredictBatch")
            .WithSummary("Predictions for many symbols from one model version; per-symbol errors are listed, not fatal.")
            .Accepts<BatchPredictionRequest>("application/json").Produces<BatchPredictionResponse>().ProducesValidationProblem().ProducesProblem(404);
        app.MapGet("/v1/serving/models", Status).WithTags("serving").WithName("GetServedModels").WithSummary("The model versions this replica serves now, and the replica's id.");
        return app;
    }

    private static Ok<ServingStatus> Status(ModelHost host, PredictionEvents events, ServingReplicaOptions replica) =>
        TypedResults.Ok(new ServingStatus(
            host.Snapshot.Models.Values.Select(m => new ServedModelInfo(m.Name, m.Version, m.Kind, m.ArtifactSha256, m.FeatureSet,
                m.FeatureNames.Count, m.Target, m.Horizon, m.LoadedAt, m.InFlight)).ToList(),
            host.Errors.ToList(), events.Published, events.Failed, replica.ReplicaId));

    private static async Task<IResult> PredictAsync(
        PredictionRequest request, HttpContext context, ModelHost host, OnlineFeatures online, PredictionEvents events, TimeProvider clock)
    {
        var errors = new Dictionary<string, string[]>();
        var symbol = request.Symbol?.Trim() ?? "";
        if (!Symbols.IsValid(symbol)) errors["symbol"] = [$"A symbol of {Symbols.Rule} is required."];
        var interval = request.Interval ?? DefaultInterval;
        if (!IntervalPattern().IsMatch(interval)) errors["interval"] = [$"'{interval}' is not an interval (1m, 5m, 1h, 1d, ...)."];
        CheckModel(request.Model, errors);
        CheckRequestId(request.RequestId, errors);
        if (request.Time is { } time)
        {
            if (request.Features is null)
                errors["time"] = [TimeWithoutFeatures];
            else CheckTime("time", time, clock, errors);
        }
        if (errors.Count > 0) return TypedResults.ValidationProblem(errors);
        if (ResolveModel(host, request.Model, out var name) is { } notFound) return notFound;
        if (!host.TryLease(name, out var lease)) return ModelNotFound(host, name);
        using (lease)
        {
            var model = lease.Model;
            var requestId = RequestId(request.RequestId);
            var input = await FeaturesAsync(model, symbol, interval, request.Features, request.Time, online, clock, context.RequestAborted);
            if (input.Error is { } failed) return failed;
            var response = Predict(model, requestId, symbol, interval, input, clock);
            if (response.Error is { } undefined) return undefined;
            if (await RecordAsync(events, [Event(response.Value!, clock)]) is { } unrecorded) return unrecorded;
            return TypedResults.Ok(response.Value);
        }
    }

    private static async Task<IResult> PredictBatchAsync(
        BatchPredictionRequest request, HttpContext context, ModelHost host, OnlineFeatures online, PredictionEvents events, TimeProvider clock)
    {
        var errors = new Dictionary<string, string[]>();
        var missing = (request.Items ?? []).Select((item, i) => item is null ? i : -1).Where(i => i >= 0).ToList();
        if (missing.Count > 0)
            return TypedResults.ValidationProblem(new Dictionary<string, string[]>
            {
                ["items"] = [$"Item(s) {string.Join(", ", missing.Take(10))} are null; each item is an object with a symbol (and optional features)."],
            });
        var items = (request.Items ?? []).Concat((request.Symbols ?? []).Select(s => new BatchItem(s, null, null))).ToList();
        var interval = request.Interval ?? DefaultInterval;
        if (!IntervalPattern().IsMatch(interval)) errors["interval"] = [$"'{interval}' is not an interval (1m, 5m, 1h, 1d, ...)."];
        if (items.Count == 0) errors["symbols"] = ["Give 'symbols' (features from the online store) or 'items' (symbol and optional features)."];
        if (items.Count > MaxBatch) errors["symbols"] = [$"At most {MaxBatch} symbols per batch, got {items.Count}."];
        var bad = items.Select(i => i.Symbol?.Trim() ?? "").Where(s => !Symbols.IsValid(s)).ToList();
        if (bad.Count > 0) errors["symbols"] = [$"Invalid symbol(s): {string.Join(", ", bad.Take(10).Select(s => $"'{s}'"))}."];
        var duplicates = items.GroupBy(i => i.Symbol?.Trim() ?? "", StringComparer.Ordinal).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        if (duplicates.Count > 0) errors["symbols"] = [$"Symbol(s) listed twice: {string.Join(", ", duplicates.Take(10))}."];
        CheckModel(request.Model, errors);
        CheckRequestId(request.RequestId, errors);
        for (var i = 0; i < items.Count; i++)
        {
            if (items[i].Time is not { } time) continue;
            if (items[i].Features is null) errors[$"items[{i}].time"] = [TimeWithoutFeatures];
            else CheckTime($"items[{i}].time", time, clock, errors);
        }
        if (errors.Count > 0) return TypedResults.ValidationProblem(errors);
        if (ResolveModel(host, request.Model, out var name) is { } notFound) return notFound;
        if (!host.TryLease(name, out var lease)) return ModelNotFound(host, name);
        using (lease)
        {
            var model = lease.Model;
            var requestId = RequestId(request.RequestId);
            var fromStore = items.Where(i => i.Features is null).Select(i => i.Symbol!.Trim()).ToList();
            var stored = fromStore.Count == 0
                ? new Dictionary<string, StoredFeatureVector>()
                : await online.GetManyAsync(model.FeatureSet, fromStore, interval, context.RequestAborted);
            var results = new List<PredictionResponse>(items.Count);
            var failures = new List<BatchItemError>();
            foreach (var item in items)
            {
                var symbol = item.Symbol!.Trim();
                var input = item.Features is not null
                    ? Supplied(model, item.Features, item.Time, clock)
                    : stored.TryGetValue(symbol, out var vector) ? Stored(model, vector, clock)
                    : FeatureInput.Fail(StatusCodes.Status404NotFound, NoFeatures(model, symbol, interval));
                var response = input.Error is null ? Predict(model, $"{requestId}:{symbol}", symbol, interval, input, clock) : default;
                var problem = input.Error ?? response.Error;
                if (problem is not null)
                {
                    failures.Add(new BatchItemError(symbol, input.Status ?? response.Status ?? 400, input.Detail ?? response.Detail ?? "invalid"));
                    continue;
                }
                results.Add(response.Value!);
            }
            if (await RecordAsync(events, results.Select(r => Event(r, clock)).ToList()) is { } unrecorded) return unrecorded;
            return TypedResults.Ok(new BatchPredictionResponse(requestId, model.Name, model.Version, results, failures));
        }
    }

    // ---- helpers --------------------------------------------------------------------------------------------

    private readonly record struct FeatureInput(float[]? Row, DateTimeOffset? Time, string Source, IResult? Error, int? Status, string? Detail)
    {
        public static FeatureInput Fail(int status, string detail) => new(null, null, "", status == 404
            ? TypedResults.Problem(detail, statusCode: 404, title: "Not Found")
            : status == 400 ? TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["features"] = [detail] })
            : TypedResults.Problem(detail, statusCode: status), status, detail);
    }

    private readonly record struct Outcome(PredictionResponse? Value, IResult? Error, int? Status, string? Detail);

    private static IResult? ResolveModel(ModelHost host, string? requested, out string name)
    {
        name = requested?.Trim() ?? "";
        if (name.Length > 0) return null;
        var loaded = host.Snapshot.Models.Keys.ToList();
        if (loaded.Count == 1)
        {
            name = loaded[0];
            return null;
        }
        return TypedResults.ValidationProblem(new Dictionary<string, string[]>
        {
            ["model"] = [loaded.Count == 0 ? "No model is being served (no champion in the registry)." : $"Name the model: one of {string.Join(", ", loaded)}."],
        });
    }

    private static IResult ModelNotFound(ModelHost host, string name)
    {
        var loaded = host.Snapshot.Models.Keys.ToList();
        var why = host.Errors.FirstOrDefault(e => e.Model == name) is { } error ? $" It failed to load: {error.Error}" : "";
        return TypedResults.Problem($"No champion of model '{name}' is being served.{why} Served: {(loaded.Count == 0 ? "none" : string.Join(", ", loaded))}.",
            statusCode: 404, title: "Not Found");
    }

    private static string NoFeatures(ServedModel model, string symbol, string interval) =>
        $"No {model.FeatureSet} features for symbol '{symbol}' at interval '{interval}' in the online store (unknown symbol, or not computed yet).";

    private static async Task<FeatureInput> FeaturesAsync(ServedModel model, string symbol, string interval, double?[]? supplied, DateTimeOffset? time,
        OnlineFeatures online, TimeProvider clock, CancellationToken ct)
    {
        if (supplied is not null) return Supplied(model, supplied, time, clock);
        var vector = await online.GetAsync(model.FeatureSet, symbol, interval, ct);
        return vector is null ? FeatureInput.Fail(404, NoFeatures(model, symbol, interval)) : Stored(model, vector, clock);
    }

    private static FeatureInput Supplied(ServedModel model, double?[] values, DateTimeOffset? time, TimeProvider clock)
    {
        if (values.Length != model.FeatureNames.Count)
            return FeatureInput.Fail(400, $"{model.Name} v{model.Version} takes {model.FeatureNames.Count} features ({model.FeatureSet}), got {values.Length}.");
        var row = new float[values.Length];
        for (var i = 0; i < values.Length; i++)
        {
            if (values[i] is not double v || !double.IsFinite(v) || Math.Abs(v) > float.MaxValue)
                return FeatureInput.Fail(400, $"Feature {i} ('{model.FeatureNames[i]}') is {(values[i] is null ? "null" : "not a finite number")}: every supplied feature must be a finite number.");
            row[i] = (float)v;
        }
        return new FeatureInput(row, time, "request", null, null, null);
    }

    private static FeatureInput Stored(ServedModel model, StoredFeatureVector vector, TimeProvider clock)
    {
        if (!string.IsNullOrEmpty(model.FeatureSetHash) && !string.IsNullOrEmpty(vector.SetHash) && vector.SetHash != model.FeatureSetHash)
            return FeatureInput.Fail(409, $"The stored {vector.Set} vector was computed by a different definition (hash {vector.SetHash[..12]}) than {model.Name} v{model.Version} was trained on ({model.FeatureSetHash[..Math.Min(12, model.FeatureSetHash.Length)]}).");
        var row = model.MapRow(vector.Names, vector.Values.Count, i => vector.Values[i] ?? double.NaN, out var missing);
        if (row is null)
            return FeatureInput.Fail(409, $"The stored {vector.Set} vector has no feature '{missing}' that {model.Name} v{model.Version} needs.");
        return new FeatureInput(row, vector.Time, "online-store", null, null, null);
    }

    private static Outcome Predict(ServedModel model, string requestId, string symbol, string interval, FeatureInput input, TimeProvider clock)
    {
        var value = model.Predict(input.Row);
        if (!double.IsFinite(value))
        {
            var missing = input.Row!.Count(float.IsNaN);
            var detail = $"{model.Name} v{model.Version} gives no defined prediction for '{symbol}': {missing} of {input.Row!.Length} features are undefined (warm-up?).";
            return new Outcome(null, TypedResults.Problem(detail, statusCode: 422, title: "Unprocessable Entity"), 422, detail);
        }
        double? staleness = input.Time is { } t ? Math.Max(0, (clock.GetUtcNow() - t).TotalSeconds) : null;
        return new Outcome(new PredictionResponse(requestId, model.Name, model.Version, symbol, interval, value, model.Target, model.Horizon,
            model.FeatureSet, input.Source, input.Time, staleness), null, null, null);
    }

    private static PredictionMade Event(PredictionResponse p, TimeProvider clock) =>
        new(p.RequestId, p.Model, p.Version, p.Symbol, p.FeatureTime ?? clock.GetUtcNow(), p.Horizon, p.Prediction, p.Interval, p.Target);

    /// <summary>Publishes the predictions' events before answering; null when done, a 503 problem when they could not be published.</summary>
    private static async Task<IResult?> RecordAsync(PredictionEvents events, IReadOnlyList<PredictionMade> made)
    {
        try
        {
            await events.PublishAsync(made, CancellationToken.None);
            return null;
        }
        catch (PredictionNotRecordedException ex)
        {
            return TypedResults.Problem(ex.Message, statusCode: StatusCodes.Status503ServiceUnavailable, title: "Prediction not recorded");
        }
    }

    /// <summary>The client's request id (checked by <see cref="CheckRequestId"/>), or a new one when it gave none.</summary>
    private static string RequestId(string? requested) => requested ?? Guid.CreateVersion7().ToString("N");

    private static bool IsValidRequestId(string id) =>
        id.Length is > 0 and <= 128 && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or ':');

    /// <summary>A request id the client gives is used as given (it names the prediction downstream), so one that breaks the rule is refused.</summary>
    private static void CheckRequestId(string? requestId, Dictionary<string, string[]> errors)
    {
        if (requestId is not null && !IsValidRequestId(requestId))
            errors["requestId"] = [$"A requestId is {RequestIdRule}; leave it out and one is drawn."];
    }

    /// <summary>Null asks for the only model served; a name given blank is an error, not the same thing.</summary>
    private static void CheckModel(string? model, Dictionary<string, string[]> errors)
    {
        if (model is not null && string.IsNullOrWhiteSpace(model))
            errors["model"] = ["The model name must not be blank; leave 'model' out when one model is served."];
    }

    private const string TimeWithoutFeatures = "'time' is the time of supplied 'features'; features from the online store carry their own.";

    /// <summary>A supplied feature time becomes the prediction's time, which outcomes are joined at: it may not lie in the future.</summary>
    private static void CheckTime(string key, DateTimeOffset time, TimeProvider clock, Dictionary<string, string[]> errors)
    {
        var latest = clock.GetUtcNow() + MaxClockSkew;
        if (time > latest)
            errors[key] = [$"'{time:O}' is in the future: a feature time is at most {MaxClockSkew.TotalMinutes:0} min past this server's clock ({latest:O})."];
    }
}
