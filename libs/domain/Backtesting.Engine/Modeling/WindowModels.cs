using Platform.Quant;

namespace Platform.Backtesting.Engine.Modeling;

/// <summary>A trained model: predicts the next bar's log return from a feature vector.</summary>
public interface IReturnModel
{
    double Predict(ReadOnlySpan<double> features);
}

/// <summary>
/// The data one walk-forward window may learn from: for each symbol, only bars strictly before
/// <see cref="TestFrom"/>. The test window is [TestFrom, TestTo].
/// </summary>
public sealed record TrainingWindow(
    int Index, DateTimeOffset TrainFrom, DateTimeOffset TestFrom, DateTimeOffset TestTo,
    IReadOnlyList<string> Symbols, IReadOnlyList<IReadOnlyList<Bar>> Bars, int Lags);

/// <summary>
/// Trains the model of one walk-forward window. The built-in <see cref="RidgeLaggedReturnTrainer"/> needs
/// nothing else; an adapter over the training service's code plugs in here.
/// </summary>
public interface IWindowModelTrainer
{
    string Name { get; }

    IReturnModel Train(TrainingWindow window, CancellationToken ct = default);
}

/// <summary>Lagged log returns of the close, newest first: the features the model strategy and its trainer share.</summary>
public static class LaggedReturns
{
    /// <summary>
    /// Samples of one symbol's bars: features are the <paramref name="lags"/> returns up to bar i, the target the
    /// return from bar i to bar i+1 (both inside <paramref name="bars"/>, so nothing past the last bar is used).
    /// </summary>
    public static IEnumerable<(double[] Features, double Target)> Samples(IReadOnlyList<Bar> bars, int lags)
    {
        for (var i = lags; i + 1 < bars.Count; i++)
        {
            var features = new double[lags];
            var ok = true;
            for (var k = 0; k < lags; k++)
            {
                features[k] = LogReturn(bars[i - k - 1].Close, bars[i - k].Close);
                ok &= double.IsFinite(features[k]);
            }
            var target = LogReturn(bars[i].Close, bars[i + 1].Close);
            if (ok && double.IsFinite(target)) yield return (features, target);
        }
    }

    public static double LogReturn(double from, double to) => from > 0 && to > 0 ? Math.Log(to / from) : double.NaN;
}

/// <summary>
/// Ridge regression of the next log return on lagged log returns, solved in closed form:
/// (XᵀX + λ·n·I) w = Xᵀy on centred data (the intercept is not penalised, λ is per sample).
/// </summary>
public sealed class RidgeLaggedReturnTrainer(double lambda = 1e-3) : IWindowModelTrainer
{
    public double Lambda { get; } = lambda >= 0 ? lambda : throw new ArgumentOutOfRangeException(nameof(lambda), lambda, "The penalty must not be negative.");
    public string Name => $"ridge(lambda={Lambda})";

    public IReturnModel Train(TrainingWindow window, CancellationToken ct = default)
    {
        var samples = window.Bars.SelectMany(b => LaggedReturns.Samples(b, window.Lags)).ToList();
        ct.ThrowIfCancellationRequested();
        return Fit(samples, window.Lags, Lambda);
    }

    internal static LinearModel Fit(IReadOnlyList<(double[] Features, double Target)> samples, int p, double lambda)
    {
        var n = samples.Count;
        if (n == 0) return new LinearModel(new double[p], 0);
        var meanX = new double[p];
        double meanY = 0;
        foreach (var (x, y) in samples)
        {
            for (var j = 0; j < p; j++) meanX[j] += x[j] / n;
            meanY += y / n;
        }
        var a = new double[p, p];
        var b = new double[p];
        foreach (var (x, y) in samples)
        {
            var yc = y - meanY;
            for (var j = 0; j < p; j++)
            {
                var xj = x[j] - meanX[j];
                b[j] += xj * yc;
                for (var k = 0; k <= j; k++) a[j, k] += xj * (x[k] - meanX[k]);
            }
        }
        for (var j = 0; j < p; j++)
        {
            for (var k = j + 1; k < p; k++) a[j, k] = a[k, j];
            // A tiny floor keeps the system positive definite when λ = 0 and a feature is constant.
            a[j, j] += lambda * n + 1e-12;
        }
        var w = Cholesky.Solve(a, b);
        var intercept = meanY;
        for (var j = 0; j < p; j++) intercept -= w[j] * meanX[j];
        return new LinearModel(w, intercept);
    }
}

public sealed record LinearModel(double[] Weights, double Intercept) : IReturnModel
{
    public double Predict(ReadOnlySpan<double> features)
    {
        var sum = Intercept;
        for (var j = 0; j < Weights.Length; j++) sum += Weights[j] * features[j];
        return sum;
    }
}

internal static class Cholesky
{
    /// <summary>Solves A x = b for a symmetric positive definite A (A = L Lᵀ).</summary>
    public static double[] Solve(double[,] a, double[] b)
    {
        var n = b.Length;
        var l = new double[n, n];
        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j <= i; j++)
            {
                var sum = a[i, j];
                for (var k = 0; k < j; k++) sum -= l[i, k] * l[j, k];
                if (i == j)
                {
                    if (!(sum > 0)) throw new InvalidOperationException("The normal equations are not positive definite.");
                    l[i, i] = Math.Sqrt(sum);
                }
                else l[i, j] = sum / l[j, j];
            }
        }
        var y = new double[n];
        for (var i = 0; i < n; i++)
        {
            var sum = b[i];
            for (var k = 0; k < i; k++) sum -= l[i, k] * y[k];
            y[i] = sum / l[i, i];
        }
        var x = new double[n];
        for (var i = n - 1; i >= 0; i--)
        {
            var sum = y[i];
            for (var k = i + 1; k < n; k++) sum -= l[k, i] * x[k];
            x[i] = sum / l[i, i];
        }
        return x;
    }
}
