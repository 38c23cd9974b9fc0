using System.Text.Json.Serialization;
using Platform.Modeling.Models;
using Platform.Modeling.Registry;
using Platform.Modeling.Targets;
using Platform.Modeling.Validation;

namespace Platform.Training.Runs;

/// <summary>
/// A training run. Defaults: daily bars, <c>alpha158@1</c> features, the whole stored history, candidates ridge and
/// xgboost, five expanding walk-forward folds, promotion to Production when the policy allows (the candidate is
/// registered and staged either way). <see cref="Model"/> defaults to <c>{target}-h{horizon}</c>.
/// </summary>
public sealed record TrainingRequest(
    IReadOnlyList<string> Symbols, string Target, int Horizon,
    string Interval = "1d", DateTimeOffset? From = null, DateTimeOffset? To = null, string FeatureSet = "alpha158@1",
    string? Model = null, IReadOnlyList<ModelSpec>? Candidates = null, int Folds = 5, int Seed = 42,
    bool Promote = true, PromotionPolicy? Policy = null, int SearchTrials = 0)
{
    [JsonIgnore]
    public TargetSpec TargetSpec => new(TargetSpec.ParseKind(Target), Horizon);
    [JsonIgnore]
    public string ModelName => Model ?? $"{TargetSpec.Kind.ToString().ToLowerInvariant()}-h{Horizon}";

    [JsonIgnore]
    public IReadOnlyList<ModelSpec> EffectiveCandidates => Candidates is { Count: > 0 } c ? c : DefaultCandidates;

    public static readonly IReadOnlyList<ModelSpec> DefaultCandidates =
    [
        new ModelSpec(ModelKinds.Ridge).With("alpha", "10"),
        new ModelSpec(ModelKinds.XGBoost).With("num_boost_round", "300").With("max_depth", "4").With("eta", "0.05"),
    ];

    /// <summary>Baselines matching the target: zero, mean and last value; HAR-RV, mean and last value for volatility.</summary>
    [JsonIgnore]
    public IReadOnlyList<ModelSpec> Baselines => TargetSpec.Kind == TargetKind.Volatility
        ? [new(ModelKinds.HarRv), new(ModelKinds.HistoricalMean), new(ModelKinds.LastValue)]
        : [new(ModelKinds.Zero), new(ModelKinds.HistoricalMean), new(ModelKinds.LastValue)];

    /// <summary>The metric that ranks candidates and guards promotion.</summary>
    [JsonIgnore]
    public PromotionPolicy EffectivePolicy => Policy ?? new PromotionPolicy(TargetSpec.Kind switch
    {
        TargetKind.Volatility => "qlike",
        TargetKind.Direction => "hit_rate",
        _ => "rank_ic",
    });

    [JsonIgnore]
    public WalkForwardOptions WalkForward => new() { Folds = Folds };

    public Dictionary<string, string[]> Validate()
    {
        var errors = new Dictionary<string, string[]>();
        if (Symbols is not { Count: > 0 } || Symbols.Any(string.IsNullOrWhiteSpace)) errors["symbols"] = ["At least one symbol is required."];
        var targetValid = true;
        try { TargetSpec.ParseKind(Target ?? ""); }
        catch (FormatException ex) { errors["target"] = [ex.Message]; targetValid = false; }
        if (Horizon is < 1 or > 250) errors["horizon"] = ["The horizon must be between 1 and 250 bars."];
        if (!Platform.Quant.BarInterval.TryParse(Interval, out _)) errors["interval"] = [$"Unknown interval '{Interval}'."];
        if (!Platform.Quant.Features.FeatureSets.TryGet(FeatureSet, out _)) errors["featureSet"] = [$"Unknown feature set '{FeatureSet}'. Known: {string.Join(", ", Platform.Quant.Features.FeatureSets.Ids)}."];
        if (Folds is < 1 or > 50) errors["folds"] = ["Folds must be between 1 and 50."];
        if (From is { } f && To is { } t && t <= f) errors["to"] = ["'to' must be after 'from'."];
        if (SearchTrials is < 0 or > 200) errors["searchTrials"] = ["searchTrials must be between 0 and 200."];
        if (Policy is not null)
        {
            try { MetricSet.HigherIsBetter(Policy.Metric); _ = new MetricSet(0, null, null, null, null, null, null, null, "").Get(Policy.Metric); }
            catch (ArgumentException ex) { errors["policy.metric"] = [ex.Message]; }
        }
        if (targetValid || Model is not null)
        {
            try { ModelRegistry.ValidateName(Model ?? ModelName); }
            catch (RegistryException ex) { errors["model"] = [ex.Message]; }
        }
        return errors;
    }
}
