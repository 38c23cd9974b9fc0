using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Http.HttpResults;
using Platform.Modeling.Registry;
using Platform.Modeling.Targets;
using Platform.Monitoring.Quality;
using Platform.OfflineStore.Monitoring;

namespace Platform.Monitoring.Apis;

public sealed record QualityResponse(string Model, int? Version, string Target, int Horizon, long Predictions, long Outcomes,
    IReadOnlyList<QualityWindow> Windows);

public sealed record PredictionRow(string RequestId, string Model, int Version, string Symbol, string Interval, DateTimeOffset Time,
    int Horizon, string Target, double Prediction, double? Realised, double? BaselineLast, double? BaselineTrailing, DateTimeOffset? KnownAt);

public sealed record PredictionPage(IReadOnlyList<PredictionRow> Items, string? Next);

public sealed record DriftResponse(string Model, IReadOnlyList<DriftRecord> Detections);

public sealed record MonitoringStatus(long Predictions, long Outcomes, IReadOnlyList<RejectedPrediction> Rejected);

/// <summary><c>/v1/monitoring</c>: live quality, predictions with outcomes (paged), drift detections, refused events.</summary>
public static class MonitoringApi
{
    public const int MaxPage = 1000;

    /// <summary>Most trailing windows one quality request may ask for (each is computed over the joined predictions).</summary>
    public const int MaxWindows = 20;

    /// <summary>Why <paramref name="model"/> cannot be a registered model's name, or null when it can.</summary>
    private static string? NameProblem(string model)
    {
        try
        {
            ModelRegistry.ValidateName(model);
            return null;
        }
        catch (RegistryException ex)
        {
            return ex.Message;
        }
    }

    private static ValidationProblem Invalid(string key, string message) =>
        TypedResults.ValidationProblem(new Dictionary<string, string[]> { [key] = [message] });

    public static IEndpointRouteBuilder MapMonitoringApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/monitoring").WithTags("monitoring");
        group.MapGet("/models/{model}/quality", QualityAsync).WithName("GetLiveQuality")
            .WithSummary("Live IC, rank IC, RMSE, hit rate and QLIKE over trailing windows, with the baselines on the same predictions.")
            .ProducesValidationProblem().ProducesProblem(404);
        group.MapGet("/models/{model}/predictions", PredictionsAsync).WithName("ListMonitoredPredictions")
            .WithSummary("Stored predictions with their outcomes, newest first, paged with 'cursor'.").ProducesValidationProblem();
        group.MapGet("/models/{model}/drift", DriftAsync).WithName("ListDrift").WithSummary("Drift detections of a model, newest window first.")
            .ProducesValidationProblem();
        group.MapGet("/status", StatusAsync).WithName("GetMonitoringStatus").WithSummary("Counts and the latest refused prediction events.");
        return app;
    }

    internal static async Task<Results<Ok<QualityResponse>, ValidationProblem, ProblemHttpResult>> QualityAsync(
        string model, int? version, string? windows, IPredictionStore store, ModelRegistry registry, MonitoringOptions options,
        MonitoringMetrics metrics, CancellationToken ct)
    {
        if (NameProblem(model) is { } invalid) return Invalid("model", invalid);
        var sizes = options.Quality.Windows.ToList();
        if (!string.IsNullOrWhiteSpace(windows))
        {
            sizes = [];
            foreach (var part in windows.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n < 2 || n > options.Quality.MaxWindow)
                    return TypedResults.ValidationProblem(new Dictionary<string, string[]>
                    {
                        ["windows"] = [$"Windows are comma-separated counts of joined predictions between 2 and {options.Quality.MaxWindow}; '{part}' is not."],
                    });
                sizes.Add(n);
            }
            if (sizes.Count > MaxWindows) return Invalid("windows", $"At most {MaxWindows} windows per request, got {sizes.Count}.");
            if (sizes.Distinct().Count() != sizes.Count) return Invalid("windows", "Each window is given once.");
        }
        ModelVersion v;
        try
        {
            v = await registry.GetVersionAsync(model, version?.ToString(CultureInfo.InvariantCulture) ?? "latest", ct);
        }
        catch (ModelNotFoundException ex)
        {
            return TypedResults.Problem(ex.Message, statusCode: 404, title: "Not Found");
        }
        var kind = TargetSpec.ParseKind(v.Lineage.Target);
        var joined = await store.QueryAsync(new PredictionQuery(model, version, JoinedOnly: true, Limit: sizes.Max()), ct);
        var result = sizes.Select(n => LiveQuality.Compute(joined, n, kind)).ToList();
        foreach (var w in result) metrics.LiveIc(model, w.Size, w.Model.Ic);
        var (predictions, outcomes) = await store.CountAsync(model, ct);
        return TypedResults.Ok(new QualityResponse(model, version, v.Lineage.Target, v.Lineage.Horizon, predictions, outcomes, result));
    }

    internal static async Task<Results<Ok<PredictionPage>, ValidationProblem>> PredictionsAsync(
        string model, int? version, DateTimeOffset? from, DateTimeOffset? to, bool? joined, int? limit, string? cursor,
        IPredictionStore store, CancellationToken ct)
    {
        var errors = new Dictionary<string, string[]>();
        if (NameProblem(model) is { } invalid) errors["model"] = [invalid];
        var size = limit ?? 100;
        if (size is < 1 or > MaxPage) errors["limit"] = [$"limit must be between 1 and {MaxPage}."];
        if (from is { } f && to is { } t && t <= f) errors["to"] = ["'to' must be after 'from'."];
        (DateTimeOffset, string)? before = null;
        if (cursor is not null)
        {
            if (Decode(cursor) is { } c) before = c;
            else errors["cursor"] = ["Not a cursor returned by this API."];
        }
        if (errors.Count > 0) return TypedResults.ValidationProblem(errors);
        var rows = await store.QueryAsync(new PredictionQuery(model, version, from, to, joined ?? false, size, before), ct);
        var items = rows.Select(r => new PredictionRow(r.Prediction.RequestId, r.Prediction.Model, r.Prediction.Version, r.Prediction.Symbol,
            r.Prediction.Interval, r.Prediction.Time, r.Prediction.Horizon, r.Prediction.Target, r.Prediction.Value, r.Outcome?.Realised,
            Finite(r.Outcome?.Last), Finite(r.Outcome?.Trailing), r.Outcome?.KnownAt)).ToList();
        var next = rows.Count == size ? Encode(rows[^1].Prediction.Time, rows[^1].Prediction.RequestId) : null;
        return TypedResults.Ok(new PredictionPage(items, next));
    }

    internal static async Task<Results<Ok<DriftResponse>, ValidationProblem>> DriftAsync(string model, int? limit, IPredictionStore store, CancellationToken ct)
    {
        var errors = new Dictionary<string, string[]>();
        if (NameProblem(model) is { } invalid) errors["model"] = [invalid];
        if (limit is < 1 or > MaxPage) errors["limit"] = [$"limit must be between 1 and {MaxPage}."];
        if (errors.Count > 0) return TypedResults.ValidationProblem(errors);
        return TypedResults.Ok(new DriftResponse(model, await store.GetDriftAsync(model, limit ?? 50, ct)));
    }

    internal static async Task<Ok<MonitoringStatus>> StatusAsync(IPredictionStore store, CancellationToken ct)
    {
        var (predictions, outcomes) = await store.CountAsync(null, ct);
        return TypedResults.Ok(new MonitoringStatus(predictions, outcomes, await store.GetRejectedAsync(50, ct)));
    }

    private static double? Finite(double? v) => v is { } x && double.IsFinite(x) ? x : null;

    private static string Encode(DateTimeOffset time, string requestId) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes($"{time.UtcTicks.ToString(CultureInfo.InvariantCulture)}|{requestId}"))
            .TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static (DateTimeOffset, string)? Decode(string cursor)
    {
        try
        {
            var b64 = cursor.Replace('-', '+').Replace('_', '/');
            b64 = b64.PadRight(b64.Length + (4 - b64.Length % 4) % 4, '=');
            var text = Encoding.UTF8.GetString(Convert.FromBase64String(b64));
            var bar = text.IndexOf('|', StringComparison.Ordinal);
            if (bar <= 0 || !long.TryParse(text.AsSpan(0, bar), NumberStyles.None, CultureInfo.InvariantCulture, out var ticks)
                || ticks > DateTimeOffset.MaxValue.UtcTicks) return null;
            return (new DateTimeOffset(ticks, TimeSpan.Zero), text[(bar + 1)..]);
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
