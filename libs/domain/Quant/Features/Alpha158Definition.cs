using System.Collections.Immutable;
using System.Globalization;
using System.Text;

namespace Platform.Quant.Features;

/// <summary>
/// The 158 factors of Qlib's Alpha158 handler (Alpha158DL.get_feature_config with its default
/// config): names, order and expressions exactly as Qlib writes them.
/// </summary>
public static class Alpha158Definition
{
    public static readonly ImmutableArray<int> Windows = [5, 10, 20, 30, 60];

    /// <summary>The rolling groups in Qlib's order; each expands to one factor per window.</summary>
    public static readonly ImmutableArray<string> RollingGroups =
    [
        "ROC", "MA", "STD", "BETA", "RSQR", "RESI", "MAX", "MIN", "QTLU", "QTLD", "RANK", "RSV", "IMAX", "IMIN", "IMXD",
        "CORR", "CORD", "CNTP", "CNTN", "CNTD", "SUMP", "SUMN", "SUMD", "VMA", "VSTD", "WVMA", "VSUMP", "VSUMN", "VSUMD",
    ];

    public const int KbarCount = 9;
    public const int PriceCount = 4;
    public const int RollingStart = KbarCount + PriceCount;
    public const int Count = RollingStart + 29 * 5;

    /// <summary>Bars after which every factor is computed from a complete window (ROC60 and CORD60 need 61 bars).</summary>
    public const int WarmUpPeriod = 61;

    private static readonly (string Name, string Expression)[] Kbar =
    [
        ("KMID", "($close-$open)/$open"),
        ("KLEN", "($high-$low)/$open"),
        ("KMID2", "($close-$open)/($high-$low+1e-12)"),
        ("KUP", "($high-Greater($open, $close))/$open"),
        ("KUP2", "($high-Greater($open, $close))/($high-$low+1e-12)"),
        ("KLOW", "(Less($open, $close)-$low)/$open"),
        ("KLOW2", "(Less($open, $close)-$low)/($high-$low+1e-12)"),
        ("KSFT", "(2*$close-$high-$low)/$open"),
        ("KSFT2", "(2*$close-$high-$low)/($high-$low+1e-12)"),
        ("OPEN0", "$open/$close"),
        ("HIGH0", "$high/$close"),
        ("LOW0", "$low/$close"),
        ("VWAP0", "$vwap/$close"),
    ];

    private static string RollingExpression(string group, int d) => group switch
    {
        "ROC" => $"Ref($close, {d})/$close",
        "MA" => $"Mean($close, {d})/$close",
        "STD" => $"Std($close, {d})/$close",
        "BETA" => $"Slope($close, {d})/$close",
        "RSQR" => $"Rsquare($close, {d})",
        "RESI" => $"Resi($close, {d})/$close",
        "MAX" => $"Max($high, {d})/$close",
        "MIN" => $"Min($low, {d})/$close",
        "QTLU" => $"Quantile($close, {d}, 0.8)/$close",
        "QTLD" => $"Quantile($close, {d}, 0.2)/$close",
        "RANK" => $"Rank($close, {d})",
        "RSV" => $"($close-Min($low, {d}))/(Max($high, {d})-Min($low, {d})+1e-12)",
        "IMAX" => $"IdxMax($high, {d})/{d}",
        "IMIN" => $"IdxMin($low, {d})/{d}",
        "IMXD" => $"(IdxMax($high, {d})-IdxMin($low, {d}))/{d}",
        "CORR" => $"Corr($close, Log($volume+1), {d})",
        "CORD" => $"Corr($close/Ref($close,1), Log($volume/Ref($volume, 1)+1), {d})",
        "CNTP" => $"Mean($close>Ref($close, 1), {d})",
        "CNTN" => $"Mean($close<Ref($close, 1), {d})",
        "CNTD" => $"Mean($close>Ref($close, 1), {d})-Mean($close<Ref($close, 1), {d})",
        "SUMP" => $"Sum(Greater($close-Ref($close, 1), 0), {d})/(Sum(Abs($close-Ref($close, 1)), {d})+1e-12)",
        "SUMN" => $"Sum(Greater(Ref($close, 1)-$close, 0), {d})/(Sum(Abs($close-Ref($close, 1)), {d})+1e-12)",
        "SUMD" => $"(Sum(Greater($close-Ref($close, 1), 0), {d})-Sum(Greater(Ref($close, 1)-$close, 0), {d}))/(Sum(Abs($close-Ref($close, 1)), {d})+1e-12)",
        "VMA" => $"Mean($volume, {d})/($volume+1e-12)",
        "VSTD" => $"Std($volume, {d})/($volume+1e-12)",
        "WVMA" => $"Std(Abs($close/Ref($close, 1)-1)*$volume, {d})/(Mean(Abs($close/Ref($close, 1)-1)*$volume, {d})+1e-12)",
        "VSUMP" => $"Sum(Greater($volume-Ref($volume, 1), 0), {d})/(Sum(Abs($volume-Ref($volume, 1)), {d})+1e-12)",
        "VSUMN" => $"Sum(Greater(Ref($volume, 1)-$volume, 0), {d})/(Sum(Abs($volume-Ref($volume, 1)), {d})+1e-12)",
        "VSUMD" => $"(Sum(Greater($volume-Ref($volume, 1), 0), {d})-Sum(Greater(Ref($volume, 1)-$volume, 0), {d}))/(Sum(Abs($volume-Ref($volume, 1)), {d})+1e-12)",
        _ => throw new ArgumentOutOfRangeException(nameof(group), group, "Not an Alpha158 rolling group."),
    };

    /// <summary>(name, Qlib expression) for all 158 factors in Qlib's order.</summary>
    public static readonly ImmutableArray<(string Name, string Expression)> Factors = BuildFactors();

    public static readonly ImmutableArray<string> Names = Factors.Select(f => f.Name).ToImmutableArray();

    /// <summary>Index of the factor <paramref name="group"/> with window <paramref name="window"/>, e.g. ("CORR", 60).</summary>
    public static int IndexOf(string group, int window)
    {
        var g = RollingGroups.IndexOf(group);
        var w = Windows.IndexOf(window);
        if (g < 0 || w < 0) throw new ArgumentException($"No Alpha158 factor {group}{window}.");
        return RollingStart + g * Windows.Length + w;
    }

    private static ImmutableArray<(string, string)> BuildFactors()
    {
        var list = new List<(string, string)>(Kbar);
        foreach (var group in RollingGroups)
            foreach (var d in Windows)
                list.Add((group + d.ToString(CultureInfo.InvariantCulture), RollingExpression(group, d)));
        return [.. list];
    }

    /// <summary>The definition text hashed into the feature set's identity.</summary>
    public static string DefinitionText()
    {
        var text = new StringBuilder();
        text.AppendLine("Qlib Alpha158 (Alpha158DL default config: kbar, price windows [0] OPEN HIGH LOW VWAP, rolling windows 5 10 20 30 60).");
        text.AppendLine("Inputs: the bar's open, high, low, close and volume as given (adjust prices upstream); $vwap is the bar's VWAP when present, otherwise the typical price (high+low+close)/3.");
        text.AppendLine("Operators follow Qlib: rolling windows use min_periods=1 (partial windows before 60 bars); Std is the sample deviation (ddof=1); Rank is the percentile rank (average ties) of the newest value;");
        text.AppendLine("Quantile interpolates linearly; Slope/Rsquare/Resi regress on 1..N; IdxMax/IdxMin are 1-based from the window start, first occurrence;");
        text.AppendLine("Rsquare and Corr are NaN where a rolling std of an input is within 2e-5 of zero; comparisons with a missing previous value are false.");
        foreach (var (name, expression) in Factors) text.Append(name).Append('=').AppendLine(expression);
        return text.ToString();
    }
}
