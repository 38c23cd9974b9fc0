using Platform.Quant.Indicators;

namespace Platform.Quant.Tests.Indicators;

public sealed class IndicatorTests
{
    private static readonly Bar[] Bars = SeededBars.Generate(600, seed: 11);
    private static readonly double[] Close = Naive.Closes(Bars);
    private static readonly DateTimeOffset T0 = SeededBars.Start;

    private static double[] Run<T>(T indicator, Func<T, double> output) where T : IBarIndicator =>
        Bars.Select(b => { indicator.Update(b); return output(indicator); }).ToArray();

    private static double[] Shifted(double[] x, int nanCount) => x.Select((v, i) => i < nanCount ? double.NaN : v).ToArray();

    private static double[] Combine(double[] a, double[] b, Func<double, double, double> f) => a.Zip(b, f).ToArray();

    private static readonly Dictionary<string, (Func<double[]> Streaming, Func<double[]> Batch)> Cases = new()
    {
        ["sma"] = (() => Run(new SimpleMovingAverage(20), x => x.Current), () => Naive.Sma(Close, 20)),
        ["ema"] = (() => Run(new ExponentialMovingAverage(20), x => x.Current), () => Naive.Ema(Close, 20)),
        ["wma"] = (() => Run(new WeightedMovingAverage(20), x => x.Current), () => Naive.Wma(Close, 20)),
        ["dema"] = (() => Run(new DoubleExponentialMovingAverage(10), x => x.Current), () =>
        {
            var e1 = Naive.Ema(Close, 10);
            return Combine(e1, Naive.Ema(e1, 10), (a, b) => 2 * a - b);
        }
        ),
        ["tema"] = (() => Run(new TripleExponentialMovingAverage(10), x => x.Current), () =>
        {
            var e1 = Naive.Ema(Close, 10);
            var e2 = Naive.Ema(e1, 10);
            var e3 = Naive.Ema(e2, 10);
            return e1.Select((v, i) => 3 * v - 3 * e2[i] + e3[i]).ToArray();
        }
        ),
        ["rsi"] = (() => Run(new RelativeStrengthIndex(14), x => x.Current), () => Naive.Rsi(Close, 14)),
        // TA-Lib publishes the line only once the signal exists (bar 26 + 9 − 2).
        ["macd"] = (() => Run(new MovingAverageConvergenceDivergence(12, 26, 9), x => x.Current), () => Shifted(NaiveMacd().Line, 33)),
        ["macd_signal"] = (() => Run(new MovingAverageConvergenceDivergence(12, 26, 9), x => x.Signal), () => NaiveMacd().Signal),
        ["macd_hist"] = (() => Run(new MovingAverageConvergenceDivergence(12, 26, 9), x => x.Histogram), () =>
        {
            var (line, signal) = NaiveMacd();
            return Combine(line, signal, (a, b) => a - b);
        }
        ),
        ["bb_middle"] = (() => Run(new BollingerBands(20, 2), x => x.Current), () => Naive.Sma(Close, 20)),
        ["bb_upper"] = (() => Run(new BollingerBands(20, 2), x => x.Upper), () => Combine(Naive.Sma(Close, 20), Naive.PopStd(Close, 20), (m, s) => m + 2 * s)),
        ["bb_lower"] = (() => Run(new BollingerBands(20, 2), x => x.Lower), () => Combine(Naive.Sma(Close, 20), Naive.PopStd(Close, 20), (m, s) => m - 2 * s)),
        ["bb_pctb"] = (() => Run(new BollingerBands(20, 2), x => x.PercentB), () =>
        {
            var (mean, std) = (Naive.Sma(Close, 20), Naive.PopStd(Close, 20));
            return Close.Select((c, t) => (c - (mean[t] - 2 * std[t])) / (4 * std[t])).ToArray();
        }
        ),
        ["bb_width"] = (() => Run(new BollingerBands(20, 2), x => x.Bandwidth), () => Combine(Naive.Sma(Close, 20), Naive.PopStd(Close, 20), (m, s) => 4 * s / m)),
        ["atr"] = (() => Run(new AverageTrueRange(14), x => x.Current), () => Naive.Atr(Bars, 14)),
        ["natr"] = (() => Run(new NormalizedAverageTrueRange(14), x => x.Current), () => Combine(Naive.Atr(Bars, 14), Close, (a, c) => 100 * a / c)),
        ["trange"] = (() => Run(new TrueRange(), x => x.Current), () => Naive.TrueRange(Bars)),
        // %K is published together with %D (TA-Lib STOCH), from bar 14 + 3 + 3 − 3.
        ["stoch_k"] = (() => Run(new Stochastic(14, 3, 3), x => x.Current), () => Shifted(Naive.SmaOfDefined(Naive.FastK(Bars, 14), 3), 17)),
        ["stoch_d"] = (() => Run(new Stochastic(14, 3, 3), x => x.D), () => Naive.SmaOfDefined(Naive.SmaOfDefined(Naive.FastK(Bars, 14), 3), 3)),
        ["cci"] = (() => Run(new CommodityChannelIndex(20), x => x.Current), () => Naive.Cci(Bars, 20)),
        ["willr"] = (() => Run(new WilliamsPercentR(14), x => x.Current), () => Naive.WilliamsR(Bars, 14)),
        ["obv"] = (() => Run(new OnBalanceVolume(), x => x.Current), () => Naive.Obv(Bars)),
        ["mfi"] = (() => Run(new MoneyFlowIndex(14), x => x.Current), () => Naive.Mfi(Bars, 14)),
        ["roc"] = (() => Run(new RateOfChange(10), x => x.Current), () => Naive.Roc(Close, 10)),
        ["mom"] = (() => Run(new Momentum(10), x => x.Current), () => Naive.Mom(Close, 10)),
        ["std"] = (() => Run(new StandardDeviation(20), x => x.Current), () => Naive.PopStd(Close, 20)),
        ["std_sample"] = (() => Run(new StandardDeviation(20, sample: true), x => x.Current), () => Naive.SampleStd(Close, 20)),
        ["zscore"] = (() => Run(new ZScore(20), x => x.Current), () => Naive.ZScore(Close, 20)),
        ["max"] = (() => Run(new Maximum(20), x => x.Current), () => Naive.Max(Close, 20)),
        ["min"] = (() => Run(new Minimum(20), x => x.Current), () => Naive.Min(Close, 20)),
        ["argmax"] = (() => Run(new Maximum(20), x => x.BarsAgo), () => Naive.ArgMaxBarsAgo(Close, 20)),
        ["argmin"] = (() => Run(new Minimum(20), x => x.BarsAgo), () => Naive.ArgMinBarsAgo(Close, 20)),
        ["corr"] = (() => Run(new Correlation(20), x => x.Current), () => Naive.Correlation(Close, Bars.Select(b => b.Volume).ToArray(), 20)),
        ["linreg_slope"] = (() => Run(new LinearRegression(20), x => x.Current), () => Naive.LinearRegression(Close, 20).Slope),
        ["linreg_r2"] = (() => Run(new LinearRegression(20), x => x.RSquared), () => Naive.LinearRegression(Close, 20).RSquared),
        ["linreg_resi"] = (() => Run(new LinearRegression(20), x => x.Residual), () => Naive.LinearRegression(Close, 20).Residual),
        ["linreg_fitted"] = (() => Run(new LinearRegression(20), x => x.Fitted), () => Naive.LinearRegression(Close, 20).Fitted),
        ["rv_cc"] = (() => Run(new RealizedVolatility(VolatilityEstimator.CloseToClose, 20), x => x.Current), () => Naive.RealizedVolatility(Bars, VolatilityEstimator.CloseToClose, 20)),
        ["rv_parkinson"] = (() => Run(new RealizedVolatility(VolatilityEstimator.Parkinson, 20), x => x.Current), () => Naive.RealizedVolatility(Bars, VolatilityEstimator.Parkinson, 20)),
        ["rv_gk"] = (() => Run(new RealizedVolatility(VolatilityEstimator.GarmanKlass, 20), x => x.Current), () => Naive.RealizedVolatility(Bars, VolatilityEstimator.GarmanKlass, 20)),
        ["rv_rs"] = (() => Run(new RealizedVolatility(VolatilityEstimator.RogersSatchell, 20), x => x.Current), () => Naive.RealizedVolatility(Bars, VolatilityEstimator.RogersSatchell, 20)),
        ["rv_yz"] = (() => Run(new RealizedVolatility(VolatilityEstimator.YangZhang, 20), x => x.Current), () => Naive.RealizedVolatility(Bars, VolatilityEstimator.YangZhang, 20)),
    };

    private static (double[] Line, double[] Signal) NaiveMacd()
    {
        // TA-Lib: the fast EMA starts where the slow one does, so it ignores the first slow − fast closes.
        var slow = Naive.Ema(Close, 26);
        var fast = Naive.Ema(Shifted(Close, 26 - 12), 12);
        var line = Combine(fast, slow, (a, b) => a - b);
        return (line, Naive.Ema(line, 9));
    }

    public static TheoryData<string> CaseNames => new(Cases.Keys);

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Update_SeededBars_EqualsBatchRecomputation(string name)
    {
        var (streaming, batch) = (Cases[name].Streaming(), Cases[name].Batch());
        for (var t = 0; t < Bars.Length; t++) Approx.AssertEqual(batch[t], streaming[t], $"{name} at bar {t}");
    }

    [Fact]
    public void ExponentialMovingAverage_FirstValues_SeededWithSimpleAverage()
    {
        var ema = new ExponentialMovingAverage(3);
        Assert.True(double.IsNaN(ema.Update(T0, 1)));
        Assert.True(double.IsNaN(ema.Update(T0.AddDays(1), 2)));
        Assert.Equal(2.0, ema.Update(T0.AddDays(2), 3));          // (1 + 2 + 3) / 3
        Assert.Equal(3.0, ema.Update(T0.AddDays(3), 4));          // 2 + 0.5·(4 − 2)
        Assert.True(ema.IsReady);
        Assert.Equal(3, ema.WarmUpPeriod);
    }

    [Fact]
    public void RelativeStrengthIndex_TwoPeriod_UsesWilderSmoothing()
    {
        var rsi = new RelativeStrengthIndex(2);
        double[] closes = [1, 2, 1.5, 2.5];
        var values = closes.Select((c, i) => rsi.Update(T0.AddDays(i), c)).ToArray();
        Assert.True(double.IsNaN(values[1]));
        // Changes +1, −0.5: average gain 0.5, loss 0.25.
        Assert.Equal(100 * 0.5 / 0.75, values[2], 12);
        // Wilder: gain (0.5·1 + 1) / 2 = 0.75, loss (0.25·1 + 0) / 2 = 0.125.
        Assert.Equal(100 * 0.75 / 0.875, values[3], 12);
    }

    [Fact]
    public void BollingerBands_FourValues_UsePopulationDeviation()
    {
        var bb = new BollingerBands(4, 2);
        for (var i = 0; i < 4; i++) bb.Update(T0.AddDays(i), i + 1);
        // Mean 2.5; population variance (2.25 + 0.25 + 0.25 + 2.25) / 4 = 1.25 (the sample variance would be 5/3).
        Assert.Equal(2.5, bb.Current, 12);
        Assert.Equal(2.5 + 2 * Math.Sqrt(1.25), bb.Upper, 12);
        Assert.Equal(2.5 - 2 * Math.Sqrt(1.25), bb.Lower, 12);
        Assert.Equal((4 - bb.Lower) / (bb.Upper - bb.Lower), bb.PercentB, 12);
        Assert.Equal(4 * Math.Sqrt(1.25) / 2.5, bb.Bandwidth, 12);
    }

    [Fact]
    public void WeightedMovingAverage_ThreeValues_WeighsNewestMost()
    {
        var wma = new WeightedMovingAverage(3);
        for (var i = 0; i < 3; i++) wma.Update(T0.AddDays(i), i + 1);
        Assert.Equal((1 + 4 + 9) / 6.0, wma.Current, 12);
    }

    [Fact]
    public void AverageTrueRange_SeedThenWilder_MatchesHandComputation()
    {
        var atr = new AverageTrueRange(2);
        Bar B(int i, double h, double l, double c) => new(T0.AddDays(i), c, h, l, c, 1);
        atr.Update(B(0, 11, 9, 10));
        atr.Update(B(1, 12, 10, 11));      // TR max(2, |12 − 10|, |10 − 10|) = 2
        Assert.True(double.IsNaN(atr.Current));
        atr.Update(B(2, 11.5, 10.5, 11));  // TR max(1, 0.5, 0.5) = 1 → seed (2 + 1) / 2
        Assert.Equal(1.5, atr.Current, 12);
        atr.Update(B(3, 14, 12, 13));      // TR max(2, 3, 1) = 3 → (1.5·1 + 3) / 2
        Assert.Equal(2.25, atr.Current, 12);
    }

    [Fact]
    public void OnBalanceVolume_FirstBar_StartsAtItsVolume()
    {
        var obv = new OnBalanceVolume();
        obv.Update(new Bar(T0, 1, 1, 1, 10, 500));
        Assert.Equal(500, obv.Current);
        obv.Update(new Bar(T0.AddDays(1), 1, 1, 1, 9, 200));
        Assert.Equal(300, obv.Current);
        obv.Update(new Bar(T0.AddDays(2), 1, 1, 1, 9, 700));
        Assert.Equal(300, obv.Current);
    }

    [Fact]
    public void RealizedVolatility_ConstantRange_MatchesPublishedFormulas()
    {
        // Every bar: open 100, close 100·e^0.01, high 100·e^0.03, low 100·e^−0.02, next open = previous close.
        var estimators = Enum.GetValues<VolatilityEstimator>().ToDictionary(e => e, e => new RealizedVolatility(e, 3));
        var price = 100.0;
        for (var i = 0; i < 5; i++)
        {
            var bar = new Bar(T0.AddDays(i), price, price * Math.Exp(0.03), price * Math.Exp(-0.02), price * Math.Exp(0.01), 1);
            foreach (var rv in estimators.Values) rv.Update(bar);
            price = bar.Close;
        }
        const double hl = 0.05, hc = 0.02, ho = 0.03, lc = -0.03, lo = -0.02, co = 0.01;
        Assert.Equal(0.0, estimators[VolatilityEstimator.CloseToClose].Current, 12);  // every return is 0.01
        Assert.Equal(Math.Sqrt(hl * hl / (4 * Math.Log(2))), estimators[VolatilityEstimator.Parkinson].Current, 12);
        Assert.Equal(Math.Sqrt(0.5 * hl * hl - (2 * Math.Log(2) - 1) * co * co), estimators[VolatilityEstimator.GarmanKlass].Current, 12);
        var rs = hc * ho + lc * lo;
        Assert.Equal(Math.Sqrt(rs), estimators[VolatilityEstimator.RogersSatchell].Current, 12);
        // Overnight and open-to-close returns are constant, so Yang–Zhang reduces to (1 − k)·RS.
        var k = 0.34 / (1.34 + 4.0 / 2.0);
        Assert.Equal(Math.Sqrt((1 - k) * rs), estimators[VolatilityEstimator.YangZhang].Current, 12);
    }

    [Fact]
    public void LinearRegression_PerfectLine_SlopeOneRSquaredOneZeroResidual()
    {
        var lr = new LinearRegression(5);
        for (var i = 0; i < 8; i++) lr.Update(T0.AddDays(i), 3 + 2.0 * i);
        Assert.Equal(2.0, lr.Current, 12);
        Assert.Equal(1.0, lr.RSquared, 12);
        Assert.Equal(0.0, lr.Residual, 10);
        Assert.Equal(17.0, lr.Fitted, 10);
    }

    public static TheoryData<string> AllIndicatorNames => new(Factories.Keys);

    private static readonly Dictionary<string, Func<IBarIndicator>> Factories = new()
    {
        ["sma"] = () => new SimpleMovingAverage(3), ["ema"] = () => new ExponentialMovingAverage(3), ["wma"] = () => new WeightedMovingAverage(3),
        ["dema"] = () => new DoubleExponentialMovingAverage(3), ["tema"] = () => new TripleExponentialMovingAverage(3),
        ["rsi"] = () => new RelativeStrengthIndex(3), ["macd"] = () => new MovingAverageConvergenceDivergence(3, 5, 2),
        ["bb"] = () => new BollingerBands(3), ["atr"] = () => new AverageTrueRange(3), ["natr"] = () => new NormalizedAverageTrueRange(3),
        ["adx"] = () => new AverageDirectionalIndex(3), ["stoch"] = () => new Stochastic(3, 2, 2), ["cci"] = () => new CommodityChannelIndex(3),
        ["willr"] = () => new WilliamsPercentR(3), ["obv"] = () => new OnBalanceVolume(), ["mfi"] = () => new MoneyFlowIndex(3),
        ["roc"] = () => new RateOfChange(3), ["mom"] = () => new Momentum(3), ["std"] = () => new StandardDeviation(3), ["zscore"] = () => new ZScore(3),
        ["max"] = () => new Maximum(3), ["min"] = () => new Minimum(3), ["corr"] = () => new Correlation(3), ["linreg"] = () => new LinearRegression(3),
        ["trange"] = () => new TrueRange(), ["rv_yz"] = () => new RealizedVolatility(VolatilityEstimator.YangZhang, 3),
        ["rv_cc"] = () => new RealizedVolatility(VolatilityEstimator.CloseToClose, 3), ["rv_gk"] = () => new RealizedVolatility(VolatilityEstimator.GarmanKlass, 3),
    };

    [Theory]
    [MemberData(nameof(AllIndicatorNames))]
    public void Update_EqualOrEarlierTime_ThrowsNamingBothTimes(string name)
    {
        var indicator = Factories[name]();
        indicator.Update(Bars[5]);
        var equal = Assert.Throws<ArgumentException>(() => indicator.Update(Bars[5]));
        Assert.Contains(Bars[5].Time.ToString("o"), equal.Message);
        var earlier = Assert.Throws<ArgumentException>(() => indicator.Update(Bars[4]));
        Assert.Contains(Bars[4].Time.ToString("o"), earlier.Message);
        Assert.Contains(Bars[5].Time.ToString("o"), earlier.Message);
        Assert.Equal(1, indicator.Samples);
    }

    [Theory]
    [MemberData(nameof(AllIndicatorNames))]
    public void Reset_AfterHistory_BehavesLikeNewInstance(string name)
    {
        var used = Factories[name]();
        foreach (var bar in Bars.Take(50)) used.Update(bar);
        used.Reset();
        Assert.False(used.IsReady);
        Assert.Equal(0, used.Samples);
        Assert.True(double.IsNaN(used.Current));
        var fresh = Factories[name]();
        foreach (var bar in Bars.Skip(100).Take(60))
        {
            used.Update(bar);
            fresh.Update(bar);
            Assert.Equal(fresh.IsReady, used.IsReady);
            Assert.Equal(fresh.Current, used.Current);
        }
    }

    [Theory]
    [MemberData(nameof(AllIndicatorNames))]
    public void IsReady_AfterWarmUpPeriod_FirstValuePublished(string name)
    {
        var indicator = Factories[name]();
        for (var i = 0; i < indicator.WarmUpPeriod - 1; i++)
        {
            indicator.Update(Bars[i]);
            Assert.False(indicator.IsReady);
            Assert.True(double.IsNaN(indicator.Current));
        }
        indicator.Update(Bars[indicator.WarmUpPeriod - 1]);
        Assert.True(indicator.IsReady);
        Assert.False(double.IsNaN(indicator.Current));
    }
}
