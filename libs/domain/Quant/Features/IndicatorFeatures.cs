using System.Collections.Immutable;
using System.Text;
using Platform.Quant.Indicators;

namespace Platform.Quant.Features;

/// <summary>
/// The <c>indicators@1</c> set: a compact vector of the streaming indicator library with TA-Lib's
/// default-style parameters. Each value is NaN until its own indicator has warmed up.
/// </summary>
public sealed class IndicatorFeatures : IFeatureCalculator
{
    private readonly IBarIndicator[] _indicators;
    private readonly Func<double>[] _outputs;

    public IndicatorFeatures()
    {
        var sma = new SimpleMovingAverage(20);
        var ema = new ExponentialMovingAverage(20);
        var wma = new WeightedMovingAverage(20);
        var dema = new DoubleExponentialMovingAverage(20);
        var tema = new TripleExponentialMovingAverage(20);
        var rsi = new RelativeStrengthIndex(14);
        var macd = new MovingAverageConvergenceDivergence(12, 26, 9);
        var bb = new BollingerBands(20, 2);
        var atr = new AverageTrueRange(14);
        var natr = new NormalizedAverageTrueRange(14);
        var adx = new AverageDirectionalIndex(14);
        var stoch = new Stochastic(14, 3, 3);
        var cci = new CommodityChannelIndex(20);
        var willr = new WilliamsPercentR(14);
        var obv = new OnBalanceVolume();
        var mfi = new MoneyFlowIndex(14);
        var roc = new RateOfChange(10);
        var mom = new Momentum(10);
        var std = new StandardDeviation(20);
        var z = new ZScore(20);
        var max = new Maximum(20);
        var min = new Minimum(20);
        var corr = new Correlation(20);
        var linreg = new LinearRegression(20);
        var rv = Enum.GetValues<VolatilityEstimator>().Select(e => new RealizedVolatility(e, 20)).ToArray();

        _indicators = [sma, ema, wma, dema, tema, rsi, macd, bb, atr, natr, adx, stoch, cci, willr, obv, mfi, roc, mom, std, z, max, min, corr, linreg, .. rv];
        _outputs =
        [
            () => sma.Current, () => ema.Current, () => wma.Current, () => dema.Current, () => tema.Current, () => rsi.Current,
            () => macd.Current, () => macd.Signal, () => macd.Histogram,
            () => bb.Current, () => bb.Upper, () => bb.Lower, () => bb.PercentB, () => bb.Bandwidth,
            () => atr.Current, () => natr.Current, () => adx.Current, () => adx.PlusDI, () => adx.MinusDI,
            () => stoch.Current, () => stoch.D, () => cci.Current, () => willr.Current, () => obv.Current, () => mfi.Current,
            () => roc.Current, () => mom.Current, () => std.Current, () => z.Current,
            () => max.Current, () => min.Current, () => max.BarsAgo, () => min.BarsAgo, () => corr.Current,
            () => linreg.Current, () => linreg.RSquared, () => linreg.Residual,
            () => rv[0].Current, () => rv[1].Current, () => rv[2].Current, () => rv[3].Current, () => rv[4].Current,
        ];
        WarmUpPeriod = _indicators.Max(i => i.WarmUpPeriod);
    }

    public static readonly ImmutableArray<(string Name, string Definition)> Features =
    [
        ("sma_20", "simple moving average of the close, 20 bars"),
        ("ema_20", "EMA of the close, k = 2/21, seeded with the SMA of the first 20 closes (TA-Lib)"),
        ("wma_20", "linearly weighted moving average of the close, weights 1..20 (TA-Lib WMA)"),
        ("dema_20", "2*EMA - EMA(EMA), SMA-seeded EMAs (TA-Lib DEMA)"),
        ("tema_20", "3*E1 - 3*E2 + E3, SMA-seeded EMAs (TA-Lib TEMA)"),
        ("rsi_14", "RSI with Wilder smoothing seeded by the mean of the first 14 changes (TA-Lib RSI)"),
        ("macd_12_26_9", "EMA12 - EMA26 of the close, both starting at bar 26 (TA-Lib MACD)"),
        ("macd_signal_12_26_9", "EMA9 of the MACD line, SMA-seeded (TA-Lib MACD signal)"),
        ("macd_hist_12_26_9", "MACD line - signal"),
        ("bb_middle_20_2", "Bollinger middle band: SMA20 of the close"),
        ("bb_upper_20_2", "middle + 2 * population std of the close over 20 bars"),
        ("bb_lower_20_2", "middle - 2 * population std of the close over 20 bars"),
        ("bb_pctb_20_2", "(close - lower) / (upper - lower)"),
        ("bb_width_20_2", "(upper - lower) / middle"),
        ("atr_14", "average true range, Wilder smoothing seeded by the mean of the first 14 true ranges (TA-Lib ATR)"),
        ("natr_14", "100 * ATR14 / close (TA-Lib NATR)"),
        ("adx_14", "average directional index, Wilder (TA-Lib ADX)"),
        ("plus_di_14", "+DI, Wilder running sums (TA-Lib PLUS_DI)"),
        ("minus_di_14", "-DI, Wilder running sums (TA-Lib MINUS_DI)"),
        ("stoch_k_14_3_3", "slow %K: SMA3 of fast %K over 14 bars (TA-Lib STOCH, SMA)"),
        ("stoch_d_14_3_3", "slow %D: SMA3 of slow %K"),
        ("cci_20", "commodity channel index of the typical price, 0.015 constant (TA-Lib CCI)"),
        ("willr_14", "Williams %R over 14 bars (TA-Lib WILLR)"),
        ("obv", "on-balance volume starting at the first bar's volume (TA-Lib OBV)"),
        ("mfi_14", "money flow index over 14 typical-price flows (TA-Lib MFI)"),
        ("roc_10", "100 * (close / close 10 bars ago - 1) (TA-Lib ROC)"),
        ("mom_10", "close - close 10 bars ago (TA-Lib MOM)"),
        ("std_20", "population standard deviation of the close over 20 bars (TA-Lib STDDEV)"),
        ("zscore_20", "(close - SMA20) / population std over 20 bars; NaN for a flat window"),
        ("max_20", "highest close over 20 bars"),
        ("min_20", "lowest close over 20 bars"),
        ("argmax_20", "bars since the highest close of the last 20 (0 = this bar, ties to the most recent)"),
        ("argmin_20", "bars since the lowest close of the last 20 (0 = this bar, ties to the most recent)"),
        ("corr_close_volume_20", "Pearson correlation of close and volume over 20 bars, 0 when either is flat (TA-Lib CORREL)"),
        ("linreg_slope_20", "least-squares slope of the close per bar over 20 bars (TA-Lib LINEARREG_SLOPE)"),
        ("linreg_r2_20", "R-squared of that line; NaN for a flat window"),
        ("linreg_resi_20", "close - fitted value of that line at this bar (close - TA-Lib LINEARREG)"),
        ("rv_cc_20", "close-to-close volatility: sample std of 20 log returns, per bar"),
        ("rv_parkinson_20", "Parkinson volatility over 20 bars, per bar"),
        ("rv_gk_20", "Garman-Klass volatility over 20 bars, per bar"),
        ("rv_rs_20", "Rogers-Satchell volatility over 20 bars, per bar"),
        ("rv_yz_20", "Yang-Zhang volatility over 20 bars (k = 0.34 / (1.34 + 21/19)), per bar"),
    ];

    public static readonly ImmutableArray<string> Names = Features.Select(f => f.Name).ToImmutableArray();

    public static string DefinitionText()
    {
        var text = new StringBuilder();
        text.AppendLine("Streaming indicators over the bar's OHLCV as given; values are NaN until each indicator has warmed up.");
        foreach (var (name, definition) in Features) text.Append(name).Append('=').AppendLine(definition);
        return text.ToString();
    }

    public FeatureSet Set => FeatureSets.IndicatorsV1;
    public int WarmUpPeriod { get; }
    public bool IsReady => _indicators[0].Samples >= WarmUpPeriod;

    public double[] Update(Bar bar)
    {
        var values = new double[_outputs.Length];
        Update(bar, values);
        return values;
    }

    public void Update(Bar bar, Span<double> values)
    {
        if (values.Length < _outputs.Length)
            throw new ArgumentException($"indicators@1 needs a destination of {_outputs.Length} values, got {values.Length}.", nameof(values));
        if (_indicators[0].Time is { } last && bar.Time <= last)
            throw new ArgumentException($"indicators: bar time {bar.Time:o} is not after the previous bar time {last:o}; bars must be strictly time-ordered.", nameof(bar));
        foreach (var indicator in _indicators) indicator.Update(bar);
        for (var i = 0; i < _outputs.Length; i++) values[i] = _outputs[i]();
    }

    public void Reset()
    {
        foreach (var indicator in _indicators) indicator.Reset();
    }

}
