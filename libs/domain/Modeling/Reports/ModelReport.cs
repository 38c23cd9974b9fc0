using System.Globalization;
using System.Text;
using Platform.Modeling.Validation;

namespace Platform.Modeling.Reports;

/// <summary>A file stored with a registered version: its name, media type and bytes.</summary>
public sealed record ReportFile(string Name, string MediaType, byte[] Content);

/// <summary>What a model card says about one baseline or candidate.</summary>
public sealed record CardRow(string Model, bool Baseline, MetricSet Inner, MetricSet? Final, double? FinalValue);

/// <summary>The inputs of a model card and its plots.</summary>
public sealed record ModelCardInput(
    string Model, int Version, string Kind, string Target, int Horizon, IReadOnlyList<string> Symbols, DateTimeOffset From, DateTimeOffset To,
    string DataSource, string DatasetFingerprint, string FeatureSet, string FeatureSetHash, DateTimeOffset? FinalFrom, DateTimeOffset? FinalTo,
    string Metric, string Gate, IReadOnlyList<CardRow> Rows, IReadOnlyList<FoldResult> WinnerFolds,
    IReadOnlyDictionary<string, double> Importance, double[] FinalActual, double[] FinalPredicted, string CodeVersion);

/// <summary>
/// A registered version's model card (Markdown: data, period, features, metrics against the baselines, the gate,
/// limitations) and its plots as PNG rendered with ScottPlot 5: predicted vs actual on the final period, feature
/// importance (top 20) and the policy metric per inner fold.
/// </summary>
public static class ModelReport
{
    public const string CardFile = "card.md";
    public const string PredictedVsActualFile = "predicted-vs-actual.png";
    public const string ImportanceFile = "importance.png";
    public const string FoldsFile = "metric-per-fold.png";

    public static IReadOnlyList<ReportFile> Build(ModelCardInput input)
    {
        var files = new List<ReportFile> { new(CardFile, "text/markdown", Encoding.UTF8.GetBytes(Card(input))) };
        files.Add(new(PredictedVsActualFile, "image/png", PredictedVsActual(input)));
        if (input.Importance.Count > 0) files.Add(new(ImportanceFile, "image/png", Importance(input)));
        if (input.WinnerFolds.Count > 0) files.Add(new(FoldsFile, "image/png", Folds(input)));
        return files;
    }

    public static string Card(ModelCardInput c)
    {
        static string F(double? v) => v is null ? "–" : v.Value.ToString("0.0000", CultureInfo.InvariantCulture);
        var s = new StringBuilder();
        s.AppendLine($"# {c.Model} v{c.Version}: {c.Kind}");
        s.AppendLine();
        s.AppendLine($"Forecasts the {c.Target} over the next {c.Horizon} bars from {c.FeatureSet} features.");
        s.AppendLine();
        s.AppendLine("## Data");
        s.AppendLine();
        s.AppendLine($"- Symbols: {string.Join(", ", c.Symbols)}; source: {c.DataSource}");
        s.AppendLine($"- Period: {c.From:yyyy-MM-dd} to {c.To:yyyy-MM-dd}; untouched final period {c.FinalFrom:yyyy-MM-dd} to {c.FinalTo:yyyy-MM-dd}");
        s.AppendLine($"- Dataset fingerprint: `{c.DatasetFingerprint}`; feature set {c.FeatureSet} `{c.FeatureSetHash[..Math.Min(12, c.FeatureSetHash.Length)]}`");
        s.AppendLine($"- Code version: {c.CodeVersion}");
        s.AppendLine();
        s.AppendLine($"## Metrics ({c.Metric}; inner walk-forward mean, then the final period)");
        s.AppendLine();
        s.AppendLine("| model | role | inner | final | final RMSE | final hit rate | final QLIKE |");
        s.AppendLine("| --- | --- | --- | --- | --- | --- | --- |");
        foreach (var r in c.Rows)
            s.AppendLine($"| {r.Model} | {(r.Baseline ? "baseline" : "candidate")} | {F(r.Inner.Get(c.Metric))} | {F(r.FinalValue)} | {F(r.Final?.Rmse)} | {F(r.Final?.HitRate)} | {F(r.Final?.Qlike)} |");
        s.AppendLine();
        s.AppendLine($"Gate: {c.Gate}");
        s.AppendLine();
        s.AppendLine("## Limitations");
        s.AppendLine();
        s.AppendLine("- Scores come from one final period of one market history; a different period can rank the models differently.");
        s.AppendLine("- The registered model was refitted on every row, the final period included: its own future performance is unmeasured.");
        s.AppendLine("- Features are computed at each bar's close; a forecast is only usable after that close.");
        if (c.DataSource != "store") s.AppendLine("- Trained on synthetic data: the metrics say nothing about real markets.");
        return s.ToString();
    }

    private static byte[] PredictedVsActual(ModelCardInput c)
    {
        var plot = new ScottPlot.Plot();
        var n = Math.Min(c.FinalActual.Length, c.FinalPredicted.Length);
        var scatter = plot.Add.ScatterPoints(c.FinalPredicted[..n], c.FinalActual[..n]);
        scatter.MarkerSize = 3;
        plot.Title($"{c.Model} v{c.Version}: final period");
        plot.XLabel("predicted");
        plot.YLabel("actual");
        return plot.GetImageBytes(640, 480, ScottPlot.ImageFormat.Png);
    }

    private static byte[] Importance(ModelCardInput c)
    {
        var top = c.Importance.OrderByDescending(kv => kv.Value).Take(20).Reverse().ToArray();
        var plot = new ScottPlot.Plot();
        var bars = top.Select((kv, i) => new ScottPlot.Bar { Position = i, Value = kv.Value }).ToArray();
        var series = plot.Add.Bars(bars);
        series.Horizontal = true;
        plot.Axes.Left.SetTicks(Enumerable.Range(0, top.Length).Select(i => (double)i).ToArray(), top.Select(kv => kv.Key).ToArray());
        plot.Title($"{c.Model} v{c.Version}: feature importance (top {top.Length})");
        return plot.GetImageBytes(640, 560, ScottPlot.ImageFormat.Png);
    }

    private static byte[] Folds(ModelCardInput c)
    {
        var plot = new ScottPlot.Plot();
        var values = c.WinnerFolds.Select(f => f.Metrics.Get(c.Metric) ?? double.NaN).ToArray();
        var bars = values.Select((v, i) => new ScottPlot.Bar { Position = i + 1, Value = double.IsNaN(v) ? 0 : v }).ToArray();
        plot.Add.Bars(bars);
        plot.Title($"{c.Model} v{c.Version}: {c.Metric} per inner fold");
        plot.XLabel("fold");
        plot.YLabel(c.Metric);
        return plot.GetImageBytes(640, 400, ScottPlot.ImageFormat.Png);
    }
}
