using MathNet.Numerics.LinearAlgebra;
using Platform.Modeling.Datasets;
using Platform.Modeling.Targets;

namespace Platform.Modeling.Models;

/// <summary>
/// A standardized linear fit: features are centred and scaled with the training mean and (population) standard
/// deviation, missing values become 0 after scaling (the mean), and the intercept is not penalized.
/// </summary>
public sealed record LinearCoefficients(double[] Means, double[] Scales, double[] Weights, double Intercept)
{
    private const int Chunk = 4096;

    public static LinearCoefficients Fit(ReadOnlySpan<float> x, int rows, int cols, ReadOnlySpan<double> y, double alpha)
    {
        if (rows == 0) throw new ModelSpecException("A linear model needs at least one training row.");
        var means = new double[cols];
        var counts = new long[cols];
        var m2 = new double[cols];
        for (var r = 0; r < rows; r++)
            for (var c = 0; c < cols; c++)
            {
                var v = x[r * cols + c];
                if (float.IsNaN(v) || float.IsInfinity(v)) continue;
                counts[c]++;
                var d = v - means[c];
                means[c] += d / counts[c];
                m2[c] += d * (v - means[c]);
            }
        var scales = new double[cols];
        for (var c = 0; c < cols; c++)
        {
            var sd = counts[c] > 0 ? Math.Sqrt(m2[c] / counts[c]) : 0;
            scales[c] = sd > 1e-12 ? sd : 1.0; // a constant column contributes nothing
        }
        double yMean = 0;
        for (var r = 0; r < rows; r++) yMean += y[r];
        yMean /= rows;

        // X'X and X'y accumulated chunk by chunk, so memory stays at Chunk x cols.
        var xtx = Matrix<double>.Build.Dense(cols, cols);
        var xty = Vector<double>.Build.Dense(cols);
        for (var start = 0; start < rows; start += Chunk)
        {
            var n = Math.Min(Chunk, rows - start);
            var block = Matrix<double>.Build.Dense(n, cols);
            var yb = Vector<double>.Build.Dense(n);
            for (var r = 0; r < n; r++)
            {
                for (var c = 0; c < cols; c++) block[r, c] = Scale(x[(start + r) * cols + c], means[c], scales[c]);
                yb[r] = y[start + r] - yMean;
            }
            xtx += block.TransposeThisAndMultiply(block);
            xty += block.TransposeThisAndMultiply(yb);
        }
        for (var c = 0; c < cols; c++) xtx[c, c] += alpha;
        Vector<double> w;
        try { w = xtx.Cholesky().Solve(xty); }
        catch (ArgumentException) { w = xtx.Svd().Solve(xty); } // singular without a penalty: least-norm solution
        return new LinearCoefficients(means, scales, w.ToArray(), yMean);
    }

    private static double Scale(float v, double mean, double scale) =>
        float.IsNaN(v) || float.IsInfinity(v) ? 0.0 : (v - mean) / scale;

    public double Predict(ReadOnlySpan<float> row)
    {
        var s = Intercept;
        for (var c = 0; c < Weights.Length; c++) s += Weights[c] * Scale(row[c], Means[c], Scales[c]);
        return s;
    }
}

/// <summary>
/// Ridge regression on the features (MathNet). Parameter: <c>alpha</c> (penalty on standardized weights, default 1). For a
/// volatility target the fit is in log space (<c>log_target=true</c> is recorded): the forecast is exp of the linear
/// prediction, positive by construction.
/// </summary>
public sealed class RidgeModel : IModel
{
    private readonly LinearCoefficients _coefficients;
    private readonly TargetSpec? _target;
    private readonly SortedDictionary<string, string> _parameters;

    internal RidgeModel(IReadOnlyList<string> names, LinearCoefficients coefficients, TargetSpec? target, SortedDictionary<string, string> parameters)
    {
        FeatureNames = names;
        _coefficients = coefficients;
        _target = target;
        _parameters = parameters;
    }

    public static RidgeModel Fit(ModelSpec spec, TrainingData data)
    {
        var alpha = spec.Double("alpha", 1.0);
        if (alpha < 0) throw new ModelSpecException($"ridge: alpha must be >= 0, got {alpha}.");
        var parameters = new SortedDictionary<string, string>(spec.Parameters, StringComparer.Ordinal);
        parameters.Remove("log_target"); // set by the fit itself, from the target
        var y = data.Y;
        if (data.Target.Kind == TargetKind.Volatility)
        {
            parameters["log_target"] = "true";
            y = Array.ConvertAll(y, v => Math.Log(Math.Max(v, Targets.Targets.VolatilityFloor)));
        }
        var coefficients = LinearCoefficients.Fit(data.X.Values, data.X.Rows, data.X.Columns, y, alpha);
        return new RidgeModel(data.X.Names, coefficients, data.Target, parameters);
    }

    public string Kind => ModelKinds.Ridge;
    public IReadOnlyList<string> FeatureNames { get; }

    public double[] Predict(FeatureFrame frame)
    {
        var p = new double[frame.Rows];
        for (var i = 0; i < frame.Rows; i++) p[i] = _coefficients.Predict(frame.Row(i));
        if (_target?.Kind == TargetKind.Direction) for (var i = 0; i < p.Length; i++) p[i] = Math.Clamp(p[i], 0, 1);
        if (_parameters.GetValueOrDefault("log_target") == "true") for (var i = 0; i < p.Length; i++) p[i] = Math.Exp(p[i]);
        Targets.Targets.FloorVolatility(_target, p);
        return p;
    }

    public byte[] ToArtifact() => ModelArtifact.Write(Kind, "json", FeatureNames, _target, _parameters, null, ModelArtifact.JsonPayload(_coefficients));

    internal static RidgeModel FromArtifact(ArtifactHeader header, byte[] payload) =>
        new(header.FeatureNames, ModelArtifact.FromJsonPayload<LinearCoefficients>(payload), header.Target, header.Parameters);

    /// <summary>Absolute standardized weights.</summary>
    public IReadOnlyDictionary<string, double> FeatureImportance() =>
        FeatureNames.Select((n, i) => (n, Math.Abs(_coefficients.Weights[i]))).ToDictionary(t => t.n, t => t.Item2);

    public void Dispose() { }
}

/// <summary>
/// HAR-RV (Corsi 2009): the forward realized volatility regressed on trailing realized volatility over 1, 5 and 22
/// bars (the dataset's <see cref="AuxColumns"/>), by least squares. Volatility targets only.
/// </summary>
public sealed class HarRvModel : IModel
{
    private static readonly string[] Regressors = [AuxColumns.Rv1, AuxColumns.Rv5, AuxColumns.Rv22];
    private readonly LinearCoefficients _coefficients;
    private readonly TargetSpec? _target;

    internal HarRvModel(IReadOnlyList<string> names, LinearCoefficients coefficients, TargetSpec? target)
    {
        FeatureNames = names;
        _coefficients = coefficients;
        _target = target;
    }

    public static HarRvModel Fit(TrainingData data)
    {
        if (data.Target.Kind != TargetKind.Volatility)
            throw new ModelSpecException($"har-rv forecasts volatility; the target is {data.Target.Kind.ToString().ToLowerInvariant()}.");
        var (x, rows, y) = Design(data.X, data.Y);
        return new HarRvModel(data.X.Names, LinearCoefficients.Fit(x, rows, Regressors.Length, y, 1e-9), data.Target);
    }

    private static (float[] X, int Rows, double[] Y) Design(FeatureFrame frame, double[]? labels)
    {
        var series = Regressors.Select(frame.AuxOrNaN).ToArray();
        var keep = Enumerable.Range(0, frame.Rows).Where(i => labels is null || series.All(s => !double.IsNaN(s[i]))).ToArray();
        var x = new float[keep.Length * Regressors.Length];
        var y = new double[keep.Length];
        for (var k = 0; k < keep.Length; k++)
        {
            for (var c = 0; c < Regressors.Length; c++) x[k * Regressors.Length + c] = (float)series[c][keep[k]];
            if (labels is not null) y[k] = labels[keep[k]];
        }
        return (x, keep.Length, y);
    }

    public string Kind => ModelKinds.HarRv;
    public IReadOnlyList<string> FeatureNames { get; }

    public double[] Predict(FeatureFrame frame)
    {
        var (x, rows, _) = Design(frame, null);
        var p = new double[rows];
        for (var i = 0; i < rows; i++) p[i] = Math.Max(Targets.Targets.VolatilityFloor, _coefficients.Predict(x.AsSpan(i * Regressors.Length, Regressors.Length)));
        return p;
    }

    public byte[] ToArtifact() => ModelArtifact.Write(Kind, "json", FeatureNames, _target, new(StringComparer.Ordinal), null, ModelArtifact.JsonPayload(_coefficients));

    internal static HarRvModel FromArtifact(ArtifactHeader header, byte[] payload) =>
        new(header.FeatureNames, ModelArtifact.FromJsonPayload<LinearCoefficients>(payload), header.Target);

    public IReadOnlyDictionary<string, double> FeatureImportance() =>
        Regressors.Select((n, i) => (n, Math.Abs(_coefficients.Weights[i]))).ToDictionary(t => t.n, t => t.Item2);

    public void Dispose() { }
}
