using System.Text.Json.Serialization;
using Platform.Modeling.Models;
using Platform.Modeling.Registry;
using Platform.Modeling.Targets;
using Platform.Modeling.Validation;

namespace Platform.Training.Runs;

/// <summary>
/// A training run. Defaults: daily bars from the offline store, <c>alpha158@1</c> features, the whole stored history,
/// candidates ridge, xgboost, fasttree and lightgbm, five expanding walk-forward folds, promotion to Production when the
/// gate allows (the candidate is registered either way). <see cref="Model"/> defaults to <c>{target}-h{horizon}</c>.
/// <see cref="DataSource"/> is <c>store</c> (the offline store; a symbol it lacks is an error) or <c>synthetic</c> (the
/// seeded synthetic market, only when asked for; recorded in the lineage). The last <see cref="FinalFraction"/> of the
/// decision times is the untouched final period: search and selection use walk-forward folds before it; the gate
/// compares the winner with the baselines and the champion on it.
/// </summary>
public sealed record TrainingRequest(
    IReadOnlyList<string> Symbols, string Target, int Horizon,
    string Interval = "1d", DateTimeOffset? From = null, DateTimeOffset? To = null, string FeatureSet = "alpha158@1",
    string? Model = null, IReadOnlyList<ModelSpec>? Candidates = null, int Folds = 5, int Seed = 42,
    bool Promote = true, PromotionPolicy? Policy = null, int SearchTrials = 0, string DataSource = DataSources.Store,
    double FinalFraction = 0.2)
{
    [JsonIgnore]
    public TargetSpec TargetSpec => new(TargetSpec.ParseKind(Target), Horizon);
    [JsonIgnore]
    public string ModelName => Model ?? $"{TargetSpec.Kind.ToString().ToLowerInvariant()}-h{Horizon}";

    [JsonIgnore]
    public IReadOnlyList<ModelSpec> EffectiveCandidates => Candidates is { Count: > 0 } c ? c : DefaultCandidates;

    public static readonly IReadOnlyList<ModelSpec> DefaultCandidates =
        [Candidate(ModelKinds.Ridge), Candidate(ModelKinds.XGBoost), Candidate(ModelKinds.FastTree), Candidate(ModelKinds.LightGbm)];

    /// <summary>The default spec of a candidate kind.</summary>
    public static ModelSpec Candidate(string kind) => kind switch
    {
        ModelKinds.Ridge => new ModelSpec(ModelKinds.Ridge).With("alpha", "10"),
        ModelKinds.XGBoost => new ModelSpec(ModelKinds.XGBoost).With("num_boost_round", "300").With("max_depth", "4").With("eta", "0.05"),
        ModelKinds.FastTree or ModelKinds.LightGbm => new ModelSpec(kind).With("trees", "100").With("leaves", "16").With("learning_rate", "0.05"),
        _ => throw new FormatException($"Unknown candidate '{kind}'. Known: ridge, xgboost, fasttree, lightgbm, ensemble."),
    };

    /// <summary>
    /// Candidates from a comma-separated list of kinds (<c>ridge,fasttree,lightgbm,xgboost</c>), each with its default
    /// parameters; <c>ensemble</c> adds the equal-weight ensemble of the other listed kinds as one more candidate.
    /// </summary>
    public static IReadOnlyList<ModelSpec> ParseCandidates(string text)
    {
        var kinds = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(k => k.ToLowerInvariant()).Distinct().ToList();
        var members = kinds.Where(k => k != ModelKinds.Ensemble).Select(Candidate).ToList();
        if (members.Count == 0) throw new FormatException("Name at least one candidate kind besides ensemble.");
        return kinds.Contains(ModelKinds.Ensemble) ? [.. members, new ModelSpec(ModelKinds.Ensemble, Members: members)] : members;
    }

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

    private static readonly string[] CandidateKinds = [ModelKinds.Ridge, ModelKinds.XGBoost, ModelKinds.FastTree, ModelKinds.LightGbm];

    /// <summary>Dates a run may name: bars before 1900 or after 2200 are not market data this platform holds.</summary>
    public static readonly DateTimeOffset EarliestDate = new(1900, 1, 1, 0, 0, 0, TimeSpan.Zero);
    public static readonly DateTimeOffset LatestDate = new(2200, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>Every problem with the candidate list, each candidate by its position (null entries and unknown kinds, ensemble members included).</summary>
    private static IEnumerable<string> CandidateProblems(IReadOnlyList<ModelSpec?> specs, string path)
    {
        for (var i = 0; i < specs.Count; i++)
        {
            var at = $"{path}[{i}]";
            switch (specs[i])
            {
                case null:
                    yield return $"{at} is null; give a candidate such as {{\"kind\":\"ridge\"}}.";
                    break;
                case { Kind: ModelKinds.Ensemble } ensemble:
                    if (ensemble.Members is not { Count: > 0 } members) yield return $"{at} is an ensemble without members.";
                    else foreach (var problem in CandidateProblems(members, at + ".members")) yield return problem;
                    break;
                case var spec when !CandidateKinds.Contains(spec.Kind):
                    yield return $"{at}: unknown candidate '{spec.Kind}'. Known: ridge, xgboost, fasttree, lightgbm, ensemble (of those).";
                    break;
                case var spec:
                    foreach (var problem in ParameterProblems(spec, at)) yield return problem;
                    break;
            }
        }
    }

    /// <summary>Longest parameter name or value a candidate may carry.</summary>
    public const int MaxParameterLength = 64;

    /// <summary>
    /// Each parameter needs a name and a value: a number is written as a finite number (<c>"10"</c>, <c>"0.05"</c>), never null,
    /// blank, NaN or an overflow such as <c>"-1e999"</c>, which would otherwise only fail, or mislead, once the run trains.
    /// </summary>
    private static IEnumerable<string> ParameterProblems(ModelSpec spec, string at)
    {
        foreach (var (name, value) in spec.Parameters)
        {
            if (string.IsNullOrWhiteSpace(name) || name.Length > MaxParameterLength)
                yield return $"{at}.parameters: a parameter name must be 1 to {MaxParameterLength} characters.";
            else if (value is null)
                yield return $"{at}.parameters.{name} is null; give a value (\"{name}\": \"10\") or leave the parameter out for its default.";
            else if (string.IsNullOrWhiteSpace(value) || value.Length > MaxParameterLength)
                yield return $"{at}.parameters.{name} must be 1 to {MaxParameterLength} characters.";
            else if (double.TryParse(value, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var number)
                     && !double.IsFinite(number))
                yield return $"{at}.parameters.{name} is '{value}', not a finite number.";
        }
    }

    public Dictionary<string, string[]> Validate()
    {
        var errors = new Dictionary<string, string[]>();
        if (Symbols is not { Count: > 0 } || Symbols.Any(string.IsNullOrWhiteSpace)) errors["symbols"] = ["At least one symbol is required, and none may be blank."];
        var targetValid = true;
        try { TargetSpec.ParseKind(Target ?? ""); }
        catch (FormatException ex) { errors["target"] = [ex.Message]; targetValid = false; }
        if (Horizon is < 1 or > 250) errors["horizon"] = ["The horizon must be between 1 and 250 bars."];
        if (!Platform.Quant.BarInterval.TryParse(Interval, out _)) errors["interval"] = [$"Unknown interval '{Interval}'."];
        if (FeatureSet is null || !Platform.Quant.Features.FeatureSets.TryGet(FeatureSet, out _)) errors["featureSet"] = [$"Unknown feature set '{FeatureSet}'. Known: {string.Join(", ", Platform.Quant.Features.FeatureSets.Ids)}."];
        if (Folds is < 1 or > 50) errors["folds"] = ["Folds must be between 1 and 50."];
        foreach (var (name, date) in new[] { ("from", From), ("to", To) })
            if (date is { } d && (d < EarliestDate || d >= LatestDate))
                errors[name] = [$"'{name}' must be between {EarliestDate:yyyy-MM-dd} and {LatestDate:yyyy-MM-dd}."];
        if (From is { } f && To is { } t && t <= f) errors["to"] = ["'to' must be after 'from'."];
        if (SearchTrials is < 0 or > 200) errors["searchTrials"] = ["searchTrials must be between 0 and 200."];
        if (!(FinalFraction is >= 0.05 and <= 0.5)) errors["finalFraction"] = ["finalFraction must be between 0.05 and 0.5."];
        if (DataSource is not (DataSources.Store or DataSources.Synthetic))
            errors["dataSource"] = [$"Unknown data source '{DataSource}'. Known: {DataSources.Store}, {DataSources.Synthetic}."];
        if (Candidates is not null && CandidateProblems(Candidates, "candidates").ToArray() is { Length: > 0 } problems) errors["candidates"] = problems;
        if (Policy is not null) ValidatePolicy(Policy, errors);
        if (targetValid || Model is not null)
        {
            try { ModelRegistry.ValidateName(Model ?? ModelName); }
            catch (RegistryException ex) { errors["model"] = [ex.Message]; }
        }
        return errors;
    }

    /// <summary>The checks of a promotion policy, shared by training requests and the promote endpoint.</summary>
    public static void ValidatePolicy(PromotionPolicy policy, Dictionary<string, string[]> errors)
    {
        if (policy.Metric is null) errors["policy.metric"] = ["The policy needs a metric (rank_ic, ic, hit_rate, qlike, ...)."];
        else
        {
            try { MetricSet.HigherIsBetter(policy.Metric); _ = new MetricSet(0, null, null, null, null, null, null, null, "").Get(policy.Metric); }
            catch (ArgumentException ex) { errors["policy.metric"] = [ex.Message]; }
        }
        if (!double.IsFinite(policy.MinImprovement)) errors["policy.minImprovement"] = ["minImprovement must be a finite number."];
    }
}

/// <summary>Where a training run's bars come from.</summary>
public static class DataSources
{
    /// <summary>The offline store (imported or demo-seeded bars). A symbol or range it does not hold is an error.</summary>
    public const string Store = "store";
    /// <summary>The seeded synthetic market, generated per symbol; only when a request asks for it.</summary>
    public const string Synthetic = "synthetic";
}
