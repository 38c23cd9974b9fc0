using Platform.Quant.Indicators;

namespace Platform.Quant.Tests.Indicators;

/// <summary>
/// Every indicator TA-Lib also has, run over TA-Lib's own input series and compared value by value
/// (1e-9 relative), including the first bar that has a value.
/// </summary>
[Trait("Category", "Slow")]
public sealed class TaLibAgreementTests
{
    private static double[] Run<T>(T indicator, Bar[] bars, Func<T, double> output) where T : IBarIndicator
    {
        var result = new double[bars.Length];
        for (var i = 0; i < bars.Length; i++)
        {
            indicator.Update(bars[i]);
            result[i] = output(indicator);
        }
        return result;
    }

    private static readonly Dictionary<string, Func<Bar[], double[]>> Ours = new()
    {
        ["sma_20"] = b => Run(new SimpleMovingAverage(20), b, x => x.Current),
        ["ema_20"] = b => Run(new ExponentialMovingAverage(20), b, x => x.Current),
        ["wma_20"] = b => Run(new WeightedMovingAverage(20), b, x => x.Current),
        ["dema_20"] = b => Run(new DoubleExponentialMovingAverage(20), b, x => x.Current),
        ["tema_20"] = b => Run(new TripleExponentialMovingAverage(20), b, x => x.Current),
        ["rsi_14"] = b => Run(new RelativeStrengthIndex(14), b, x => x.Current),
        ["rsi_2"] = b => Run(new RelativeStrengthIndex(2), b, x => x.Current),
        ["atr_14"] = b => Run(new AverageTrueRange(14), b, x => x.Current),
        ["natr_14"] = b => Run(new NormalizedAverageTrueRange(14), b, x => x.Current),
        ["adx_14"] = b => Run(new AverageDirectionalIndex(14), b, x => x.Current),
        ["plus_di_14"] = b => Run(new AverageDirectionalIndex(14), b, x => x.PlusDI),
        ["minus_di_14"] = b => Run(new AverageDirectionalIndex(14), b, x => x.MinusDI),
        ["cci_20"] = b => Run(new CommodityChannelIndex(20), b, x => x.Current),
        ["willr_14"] = b => Run(new WilliamsPercentR(14), b, x => x.Current),
        ["obv"] = b => Run(new OnBalanceVolume(), b, x => x.Current),
        ["mfi_14"] = b => Run(new MoneyFlowIndex(14), b, x => x.Current),
        ["roc_10"] = b => Run(new RateOfChange(10), b, x => x.Current),
        ["mom_10"] = b => Run(new Momentum(10), b, x => x.Current),
        ["std_20"] = b => Run(new StandardDeviation(20), b, x => x.Current),
        ["max_20"] = b => Run(new Maximum(20), b, x => x.Current),
        ["min_20"] = b => Run(new Minimum(20), b, x => x.Current),
        ["maxindex_20"] = b => Run(new Maximum(20), b, x => x.Samples - 1 - x.BarsAgo),
        ["minindex_20"] = b => Run(new Minimum(20), b, x => x.Samples - 1 - x.BarsAgo),
        ["corr_close_volume_20"] = b => Run(new Correlation(20), b, x => x.Current),
        ["linreg_slope_20"] = b => Run(new LinearRegression(20), b, x => x.Current),
        ["linreg_20"] = b => Run(new LinearRegression(20), b, x => x.Fitted),
        ["macd_12_26_9"] = b => Run(new MovingAverageConvergenceDivergence(12, 26, 9), b, x => x.Current),
        ["macd_signal_12_26_9"] = b => Run(new MovingAverageConvergenceDivergence(12, 26, 9), b, x => x.Signal),
        ["macd_hist_12_26_9"] = b => Run(new MovingAverageConvergenceDivergence(12, 26, 9), b, x => x.Histogram),
        ["bb_upper_20_2"] = b => Run(new BollingerBands(20, 2), b, x => x.Upper),
        ["bb_middle_20_2"] = b => Run(new BollingerBands(20, 2), b, x => x.Current),
        ["bb_lower_20_2"] = b => Run(new BollingerBands(20, 2), b, x => x.Lower),
        ["stoch_k_14_3_3"] = b => Run(new Stochastic(14, 3, 3), b, x => x.Current),
        ["stoch_d_14_3_3"] = b => Run(new Stochastic(14, 3, 3), b, x => x.D),
    };

    public static TheoryData<string> Functions => new(Ours.Keys.Order(StringComparer.Ordinal));

    [Theory]
    [MemberData(nameof(Functions))]
    public void Update_TaLibInputSeries_MatchesTaLibFromFirstValue(string function)
    {
        var reference = TaLibReference.Instance;
        Assert.True(reference.Values.TryGetValue(function, out var expected), $"TA-Lib produced no values for {function}.");
        var actual = Ours[function](reference.Bars);

        var first = expected.Keys.First();
        for (var i = 0; i < first; i++)
            Assert.True(double.IsNaN(actual[i]), $"{function}: bar {i} should still be warming up (TA-Lib's first value is at bar {first}) but was {actual[i]:R}.");
        foreach (var (index, value) in expected)
            Approx.AssertEqual(value, actual[index], $"{function} at bar {index}", absolute: 1e-10);
        Assert.Equal(reference.Bars.Length - first, expected.Count);
    }

    [Fact]
    public void Reference_EveryTaLibFunction_IsCompared()
    {
        var produced = TaLibReference.Instance.Values.Keys.Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(produced, Ours.Keys.Order(StringComparer.Ordinal).ToArray());
    }
}
