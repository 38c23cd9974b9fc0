using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace Platform.Modeling.Models.XGBoost;

/// <summary>A dense float32 matrix handed to XGBoost (NaN = missing) with optional labels.</summary>
public sealed unsafe class DMatrix : IDisposable
{
    internal DMatrixHandle Handle { get; }
    public int Rows { get; }
    public int Columns { get; }

    public DMatrix(ReadOnlySpan<float> values, int rows, int columns, ReadOnlySpan<double> labels = default, int nthread = 0)
    {
        if (values.Length != (long)rows * columns)
            throw new ArgumentException($"A {rows} x {columns} matrix needs {(long)rows * columns} values, got {values.Length}.", nameof(values));
        XGBoostLibrary.EnsureLoaded();
        Rows = rows;
        Columns = columns;
        DMatrixHandle handle;
        int rc;
        fixed (float* p = values)
            rc = XGBoostNative.XGDMatrixCreateFromMat_omp(p, (ulong)rows, (ulong)columns, float.NaN, out handle, nthread > 0 ? nthread : Environment.ProcessorCount);
        if (rc != 0) { handle.Dispose(); XGBoostLibrary.Check(rc); }
        Handle = handle;
        if (!labels.IsEmpty)
        {
            if (labels.Length != rows) throw new ArgumentException($"{labels.Length} labels for {rows} rows.", nameof(labels));
            var f = new float[rows];
            for (var i = 0; i < rows; i++) f[i] = (float)labels[i];
            fixed (float* pl = f)
                XGBoostLibrary.Check(XGBoostNative.XGDMatrixSetFloatInfo(Handle, "label", pl, (ulong)rows));
        }
    }

    /// <summary>Writes XGBoost's binary DMatrix format (the <c>xgboost</c> CLI reads it as <c>data = "file"</c>).</summary>
    public void SaveBinary(string path) => XGBoostLibrary.Check(XGBoostNative.XGDMatrixSaveBinary(Handle, path, 1));

    public void Dispose() => Handle.Dispose();
}

/// <summary>
/// A gradient-boosted tree model through XGBoost's C API. Not thread-safe for training; prediction from one booster
/// on several threads is safe in 1.7 once it has predicted once (the first call configures it lazily).
/// </summary>
public sealed unsafe class Booster : IDisposable
{
    private BoosterHandle _handle;

    /// <summary>
    /// Proxy DMatrices for <see cref="PredictDense"/>, one per concurrent call. Without one, XGBoost builds a proxy inside
    /// every call, which is most of a one-row prediction's cost (about 15 us of 34 us for 300 trees here); a proxy holds
    /// the block of the call that set it, so two calls never share one at the same time.
    /// </summary>
    private readonly System.Collections.Concurrent.ConcurrentStack<DMatrixHandle> _proxies = new();

    private bool _disposed;

    private Booster(BoosterHandle handle) => _handle = handle;

    public static Booster Create(params DMatrix[] cache)
    {
        XGBoostLibrary.EnsureLoaded();
        var handles = new IntPtr[cache.Length];
        for (var i = 0; i < cache.Length; i++) handles[i] = cache[i].Handle.DangerousGetHandle();
        BoosterHandle created;
        fixed (IntPtr* p = handles)
        {
            var rc = XGBoostNative.XGBoosterCreate(p, (ulong)handles.Length, out created);
            GC.KeepAlive(cache);
            if (rc != 0) { created.Dispose(); XGBoostLibrary.Check(rc); }
        }
        return new Booster(created);
    }

    /// <summary>Loads a model saved by <see cref="Save"/> (UBJSON or JSON).</summary>
    public static Booster Load(ReadOnlySpan<byte> model)
    {
        var booster = Create();
        fixed (byte* p = model)
        {
            var rc = XGBoostNative.XGBoosterLoadModelFromBuffer(booster._handle, p, (ulong)model.Length);
            if (rc != 0) { booster.Dispose(); XGBoostLibrary.Check(rc); }
        }
        return booster;
    }

    public void SetParameter(string name, string value) => XGBoostLibrary.Check(XGBoostNative.XGBoosterSetParam(_handle, name, value));

    public void SetParameters(IEnumerable<KeyValuePair<string, string>> parameters)
    {
        foreach (var (k, v) in parameters) SetParameter(k, v);
    }

    public void UpdateOneIteration(int iteration, DMatrix train) =>
        XGBoostLibrary.Check(XGBoostNative.XGBoosterUpdateOneIter(_handle, iteration, train.Handle));

    /// <summary>Evaluates the configured metric on <paramref name="data"/>; returns the metric name and value (the last one reported).</summary>
    public (string Metric, double Value) Evaluate(int iteration, DMatrix data, string name = "valid")
    {
        var handles = stackalloc IntPtr[1];
        handles[0] = data.Handle.DangerousGetHandle();
        var nameBytes = Encoding.UTF8.GetBytes(name + "\0");
        IntPtr result;
        fixed (byte* pn = nameBytes)
        {
            var names = stackalloc IntPtr[1];
            names[0] = (IntPtr)pn;
            XGBoostLibrary.Check(XGBoostNative.XGBoosterEvalOneIter(_handle, iteration, handles, names, 1, out result));
        }
        GC.KeepAlive(data);
        // "[12]\tvalid-rmse:0.0123": copy at once, the buffer belongs to XGBoost.
        var text = Marshal.PtrToStringUTF8(result) ?? "";
        var last = text.Split('\t', StringSplitOptions.RemoveEmptyEntries)[^1];
        var colon = last.LastIndexOf(':');
        var metric = last[..colon];
        var dash = metric.IndexOf('-');
        return (dash >= 0 ? metric[(dash + 1)..] : metric, double.Parse(last[(colon + 1)..], CultureInfo.InvariantCulture));
    }

    public int BoostedRounds
    {
        get
        {
            XGBoostLibrary.Check(XGBoostNative.XGBoosterBoostedRounds(_handle, out var rounds));
            return rounds;
        }
    }

    /// <summary>Keeps only the first <paramref name="rounds"/> boosting rounds (used after early stopping).</summary>
    public void Truncate(int rounds)
    {
        if (rounds >= BoostedRounds) return;
        var rc = XGBoostNative.XGBoosterSlice(_handle, 0, rounds, 1, out var sliced);
        if (rc != 0) { sliced.Dispose(); XGBoostLibrary.Check(rc); }
        _handle.Dispose();
        _handle = sliced;
    }

    /// <summary>Predictions for every row of <paramref name="data"/> (copied out of XGBoost's buffer).</summary>
    public float[] Predict(DMatrix data)
    {
        const string config = """{"type":0,"training":false,"iteration_begin":0,"iteration_end":0,"strict_shape":false}""";
        XGBoostLibrary.Check(XGBoostNative.XGBoosterPredictFromDMatrix(_handle, data.Handle, config, out var shape, out var dim, out var result));
        return Copy(shape, dim, result);
    }

    /// <summary>
    /// In-place prediction on a dense row-major float32 block (no DMatrix). <paramref name="nthread"/> 1 suits
    /// concurrent single-row calls; the config's <c>cache_id</c> must be 0 in 1.7.
    /// </summary>
    public float[] PredictDense(ReadOnlySpan<float> values, int rows, int columns, int nthread = 1)
    {
        if (values.Length != rows * columns)
            throw new ArgumentException($"A {rows} x {columns} block needs {rows * columns} values, got {values.Length}.", nameof(values));
        fixed (float* p = values)
        {
            var array = string.Create(CultureInfo.InvariantCulture,
                $$"""{"data":[{{(ulong)p}},true],"shape":[{{rows}},{{columns}}],"typestr":"<f4","version":3}""");
            var config = string.Create(CultureInfo.InvariantCulture,
                $$"""{"type":0,"training":false,"iteration_begin":0,"iteration_end":0,"strict_shape":false,"cache_id":0,"missing":NaN,"nthread":{{nthread}}}""");
            var proxy = RentProxy();
            try
            {
                XGBoostLibrary.Check(XGBoostNative.XGBoosterPredictFromDense(_handle, array, config, proxy, out var shape, out var dim, out var result));
                return Copy(shape, dim, result);
            }
            finally
            {
                _proxies.Push(proxy);
                // A call that ended after Dispose (a model swapped out mid-call) frees what it returned.
                if (Volatile.Read(ref _disposed)) FreeProxies();
            }
        }
    }

    private DMatrixHandle RentProxy()
    {
        if (_proxies.TryPop(out var proxy)) return proxy;
        var rc = XGBoostNative.XGProxyDMatrixCreate(out proxy);
        if (rc != 0) { proxy.Dispose(); XGBoostLibrary.Check(rc); }
        return proxy;
    }

    private static float[] Copy(ulong* shape, ulong dim, float* result)
    {
        ulong n = 1;
        for (ulong i = 0; i < dim; i++) n *= shape[i];
        return new ReadOnlySpan<float>(result, checked((int)n)).ToArray();
    }

    /// <summary>The model as a raw buffer: <c>ubj</c> (default) or <c>json</c>.</summary>
    public byte[] Save(string format = "ubj")
    {
        XGBoostLibrary.Check(XGBoostNative.XGBoosterSaveModelToBuffer(_handle, $$"""{"format":"{{format}}"}""", out var len, out var buffer));
        return new ReadOnlySpan<byte>(buffer, checked((int)len)).ToArray();
    }

    /// <summary>Feature importance by <paramref name="type"/> (gain, weight, cover, total_gain, total_cover), keyed by feature index.</summary>
    public IReadOnlyDictionary<int, double> FeatureImportance(string type = "gain")
    {
        XGBoostLibrary.Check(XGBoostNative.XGBoosterFeatureScore(_handle, $$"""{"importance_type":"{{type}}"}""",
            out var n, out var features, out _, out _, out var scores));
        var result = new Dictionary<int, double>();
        for (ulong i = 0; i < n; i++)
        {
            var name = Marshal.PtrToStringUTF8((IntPtr)features[i]) ?? "";
            // Without feature names XGBoost reports "f{index}".
            if (name.StartsWith('f') && int.TryParse(name.AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture, out var index))
                result[index] = scores[i];
        }
        return result;
    }

    public void Dispose()
    {
        Volatile.Write(ref _disposed, true);
        _handle.Dispose();
        FreeProxies();
    }

    private void FreeProxies()
    {
        while (_proxies.TryPop(out var proxy)) proxy.Dispose();
    }
}
