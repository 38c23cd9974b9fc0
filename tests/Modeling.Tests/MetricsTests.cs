using Platform.Modeling.Validation;

namespace Platform.Modeling.Tests;

public sealed class MetricsTests
{
    private static readonly double[] Y = [1, 2, 3];
    private static readonly double[] P = [1, 2, 5];

    [Fact]
    public void Rmse_SmallVectors_MatchesHandComputation() => Assert.Equal(Math.Sqrt(4.0 / 3), Metrics.Rmse(Y, P), 12);

    [Fact]
    public void Mae_SmallVectors_MatchesHandComputation() => Assert.Equal(2.0 / 3, Metrics.Mae(Y, P), 12);

    [Fact]
    public void RSquared_WorseThanMean_IsNegative()
    {
        // mean(y) = 2, SST = 2, SSE = 4: 1 - 4/2 = -1.
        Assert.Equal(-1.0, Metrics.RSquared(Y, P), 12);
    }

    [Fact]
    public void Pearson_SmallVectors_MatchesHandComputation()
    {
        // x = [1,2,3], y = [1,2,5]: dx = [-1,0,1], dy = [-5/3,-2/3,7/3]; sxy = 4, sxx = 2, syy = 78/9.
        Assert.Equal(4 / Math.Sqrt(2 * 78.0 / 9), Metrics.Pearson(Y, P), 12);
    }

    [Fact]
    public void Spearman_WithTies_UsesAverageRanks()
    {
        double[] x = [10, 20, 20, 40];
        double[] y = [1, 3, 2, 4];
        // ranks x = [1, 2.5, 2.5, 4], y = [1, 3, 2, 4]; mean 2.5; sxy = 4.5, sxx = 4.5, syy = 5.
        Assert.Equal(4.5 / Math.Sqrt(4.5 * 5), Metrics.Spearman(x, y), 12);
        Assert.Equal([1, 2.5, 2.5, 4], Metrics.Ranks(x));
    }

    [Fact]
    public void Pearson_ConstantPrediction_IsNaN()
    {
        Assert.True(double.IsNaN(Metrics.Pearson([0.0, 0, 0], Y)));
        // 0.1 has no exact binary form: the running mean differs from it by rounding, the correlation must still be undefined.
        Assert.True(double.IsNaN(Metrics.Pearson([0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1], [1.0, 2, 3, 4, 5, 6, 8])));
    }

    [Fact]
    public void HitRate_SignAgreement_CountsMatchesOnly()
    {
        double[] y = [0.1, -0.2, 0.3, -0.4];
        double[] p = [0.5, 0.1, 0.2, -0.1];
        Assert.Equal(0.75, Metrics.HitRate(y, p), 12);
    }

    [Fact]
    public void Qlike_PerfectForecast_IsZero_AndPenalizesUnderPrediction()
    {
        Assert.Equal(0.0, Metrics.Qlike([0.1, 0.2], [0.1, 0.2]), 12);
        // y = 0.2, p = 0.1: ratio 4, 4 - ln 4 - 1.
        Assert.Equal(3 - Math.Log(4), Metrics.Qlike([0.2], [0.1]), 12);
        Assert.True(Metrics.Qlike([0.2], [0.1]) > Metrics.Qlike([0.1], [0.2]));
    }

    [Fact]
    public void InformationRatio_Series_IsMeanOverSampleStd()
    {
        double[] ics = [0.1, 0.2, 0.3];
        Assert.Equal(0.2 / 0.1, Metrics.InformationRatio(ics), 12);
    }
}
