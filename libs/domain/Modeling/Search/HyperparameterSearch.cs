using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Serialization;
using Platform.Modeling.Datasets;
using Platform.Modeling.Models;
using Platform.Modeling.Validation;

namespace Platform.Modeling.Search;

/// <summary>One dimension of a search space.</summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "type")]
[JsonDerivedType(typeof(Choice), "choice")]
[JsonDerivedType(typeof(Uniform), "uniform")]
[JsonDerivedType(typeof(LogUniform), "log-uniform")]
[JsonDerivedType(typeof(IntRange), "int")]
public abstract record ParameterDomain
{
    public abstract string Sample(Random random);
    /// <summary>The values a grid search visits.</summary>
    public abstract IReadOnlyList<string> Grid(int points);

    protected static string Format(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}

public sealed record Choice(IReadOnlyList<string> Values) : ParameterDomain
{
    public override string Sample(Random random) => Values[random.Next(Values.Count)];
    public override IReadOnlyList<string> Grid(int points) => Values;
}

public sealed record Uniform(double Min, double Max) : ParameterDomain
{
    public override string Sample(Random random) => Format(Min + random.NextDouble() * (Max - Min));
    public override IReadOnlyList<string> Grid(int points) =>
        Enumerable.Range(0, points).Select(i => Format(points == 1 ? Min : Min + (Max - Min) * i / (points - 1))).ToArray();
}

public sealed record LogUniform(double Min, double Max) : ParameterDomain
{
    public override string Sample(Random random) => Format(Math.Exp(Math.Log(Min) + random.NextDouble() * (Math.Log(Max) - Math.Log(Min))));
    public override IReadOnlyList<string> Grid(int points) =>
        Enumerable.Range(0, points).Select(i => Format(points == 1 ? Min : Math.Exp(Math.Log(Min) + (Math.Log(Max) - Math.Log(Min)) * i / (points - 1)))).ToArray();
}

public sealed record IntRange(int Min, int Max) : ParameterDomain
{
    public override string Sample(Random random) => random.Next(Min, Max + 1).ToString(CultureInfo.InvariantCulture);
    public override IReadOnlyList<string> Grid(int points) =>
        Enumerable.Range(Min, Max - Min + 1).Select(v => v.ToString(CultureInfo.InvariantCulture)).ToArray();
}

[JsonConverter(typeof(JsonStringEnumConverter<SearchStrategy>))]
public enum SearchStrategy { Random, Grid }

/// <summary>
/// A search over <see cref="Space"/> around <see cref="Base"/>: each trial is scored by walk-forward validation on
/// <see cref="Metric"/>. It stops at <see cref="MaxTrials"/> or when <see cref="TimeBudget"/> has passed (a trial
/// that started is finished).
/// </summary>
public sealed record SearchOptions(ModelSpec Base, IReadOnlyDictionary<string, ParameterDomain> Space, string Metric = "rank_ic",
    SearchStrategy Strategy = SearchStrategy.Random, int MaxTrials = 10, TimeSpan? TimeBudget = null, int GridPoints = 3, int Seed = 42);

public sealed record Trial(int Number, ModelSpec Spec, double? Score, ValidationReport Report);

public sealed record SearchResult(string Metric, bool HigherIsBetter, IReadOnlyList<Trial> Trials, Trial Best, bool BudgetExhausted);

public static class HyperparameterSearch
{
    public static SearchResult Run(Dataset dataset, IReadOnlyList<Fold> folds, SearchOptions options,
        Action<Trial>? onTrial = null, CancellationToken ct = default)
    {
        var higher = MetricSet.HigherIsBetter(options.Metric);
        var clock = Stopwatch.StartNew();
        var trials = new List<Trial>();
        var budgetHit = false;
        foreach (var spec in Candidates(options))
        {
            ct.ThrowIfCancellationRequested();
            if (trials.Count >= options.MaxTrials) break;
            if (options.TimeBudget is { } budget && clock.Elapsed >= budget && trials.Count > 0) { budgetHit = true; break; }
            var report = Evaluator.Evaluate(dataset, folds, spec, options.Seed, ct: ct);
            var trial = new Trial(trials.Count + 1, spec, report.Score(options.Metric), report);
            trials.Add(trial);
            onTrial?.Invoke(trial);
        }
        if (trials.Count == 0) throw new InvalidOperationException("The search space produced no trial.");
        var scored = trials.Where(t => t.Score.HasValue).ToList();
        var best = scored.Count == 0 ? trials[0]
            : higher ? scored.MaxBy(t => t.Score!.Value)! : scored.MinBy(t => t.Score!.Value)!;
        return new SearchResult(options.Metric, higher, trials, best, budgetHit);
    }

    /// <summary>The specs a search visits, in order (deterministic for a seed).</summary>
    public static IEnumerable<ModelSpec> Candidates(SearchOptions options)
    {
        var names = options.Space.Keys.Order(StringComparer.Ordinal).ToArray();
        if (options.Strategy == SearchStrategy.Grid)
        {
            IEnumerable<ModelSpec> grid = [options.Base];
            foreach (var name in names)
            {
                var values = options.Space[name].Grid(options.GridPoints);
                grid = grid.SelectMany(s => values.Select(v => s.With(name, v)));
            }
            foreach (var s in grid) yield return s;
            yield break;
        }
        var random = new Random(options.Seed);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var attempts = 0; attempts < options.MaxTrials * 20; attempts++)
        {
            var spec = options.Base;
            foreach (var name in names) spec = spec.With(name, options.Space[name].Sample(random));
            if (seen.Add(spec.Describe())) yield return spec;
        }
    }
}
