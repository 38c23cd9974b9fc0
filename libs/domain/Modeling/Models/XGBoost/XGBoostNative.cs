using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.InteropServices.Marshalling;
using Microsoft.Win32.SafeHandles;

namespace Platform.Modeling.Models.XGBoost;

/// <summary>XGBoost could not be loaded, or one of its calls failed; the message is XGBoost's own.</summary>
public sealed class XGBoostException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Finds the XGBoost shared library. Debian's <c>libxgboost0</c> ships only <c>libxgboost.so.0</c> (the bare name
/// resolves only with <c>libxgboost-dev</c>), so the import name is mapped explicitly. <c>XGBOOST_LIBRARY_PATH</c>
/// overrides the search.
/// </summary>
public static class XGBoostLibrary
{
    internal const string ImportName = "xgboost";
    public const string DefaultFile = "libxgboost.so.0";
    public const string AptPackage = "libxgboost0";

    private static readonly Lazy<IntPtr> Handle = new(() => Load(Candidates()), LazyThreadSafetyMode.ExecutionAndPublication);

    private static int _resolverSet;

    /// <summary>Installs the import resolver for this assembly once (a second SetDllImportResolver would throw).</summary>
    internal static void EnsureResolver()
    {
        if (Interlocked.Exchange(ref _resolverSet, 1) == 0)
            NativeLibrary.SetDllImportResolver(typeof(XGBoostLibrary).Assembly, Resolve);
    }

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? path) =>
        name == ImportName ? Handle.Value : IntPtr.Zero;

    public static IReadOnlyList<string> Candidates() =>
        Environment.GetEnvironmentVariable("XGBOOST_LIBRARY_PATH") is { Length: > 0 } configured
            ? [configured]
            : [DefaultFile, "libxgboost.so", "/usr/lib/x86_64-linux-gnu/libxgboost.so.0", "/usr/lib/aarch64-linux-gnu/libxgboost.so.0"];

    /// <summary>Loads the first candidate that exists, or throws <see cref="ModelUnavailableException"/> naming the file and the package to install.</summary>
    public static IntPtr Load(IReadOnlyList<string> candidates)
    {
        foreach (var candidate in candidates)
            if (NativeLibrary.TryLoad(candidate, out var handle)) return handle;
        throw new ModelUnavailableException(ModelKinds.XGBoost,
            $"The XGBoost native library could not be loaded (tried {string.Join(", ", candidates)}). " +
            $"Install {DefaultFile} with 'apt-get install {AptPackage}' (Debian/Ubuntu), or set XGBOOST_LIBRARY_PATH to the library file.");
    }

    /// <summary>Loads the library now (first use otherwise) and returns its version, e.g. 1.7.4.</summary>
    public static Version EnsureLoaded()
    {
        EnsureResolver();
        _ = Handle.Value;
        XGBoostNative.XGBoostVersion(out var major, out var minor, out var patch);
        return new Version(major, minor, patch);
    }

    internal static void Check(int rc)
    {
        if (rc == 0) return;
        var message = Marshal.PtrToStringUTF8(XGBoostNative.XGBGetLastError()) ?? "unknown error";
        throw new XGBoostException("XGBoost: " + message.Trim());
    }
}

internal sealed class DMatrixHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    public DMatrixHandle() : base(true) { }
    protected override bool ReleaseHandle() => XGBoostNative.XGDMatrixFree(handle) == 0;
}

internal sealed class BoosterHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    public BoosterHandle() : base(true) { }
    protected override bool ReleaseHandle() => XGBoostNative.XGBoosterFree(handle) == 0;
}

/// <summary>The subset of XGBoost's C API (1.7) the wrapper uses. Every call returns 0 or -1 (see XGBGetLastError).</summary>
internal static unsafe partial class XGBoostNative
{
    private const string Lib = XGBoostLibrary.ImportName;

    static XGBoostNative() => XGBoostLibrary.EnsureResolver();

    [LibraryImport(Lib)] internal static partial IntPtr XGBGetLastError();
    [LibraryImport(Lib)] internal static partial void XGBoostVersion(out int major, out int minor, out int patch);

    [LibraryImport(Lib)]
    internal static partial int XGDMatrixCreateFromMat_omp(float* data, ulong nrow, ulong ncol, float missing, out DMatrixHandle handle, int nthread);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int XGDMatrixSetFloatInfo(DMatrixHandle handle, string field, float* array, ulong len);
    [LibraryImport(Lib)] internal static partial int XGDMatrixFree(IntPtr handle);
    [LibraryImport(Lib)] internal static partial int XGProxyDMatrixCreate(out DMatrixHandle handle);
    [LibraryImport(Lib)] internal static partial int XGDMatrixNumRow(DMatrixHandle handle, out ulong rows);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int XGDMatrixSaveBinary(DMatrixHandle handle, string fileName, int silent);

    [LibraryImport(Lib)] internal static partial int XGBoosterCreate(IntPtr* dmats, ulong len, out BoosterHandle handle);
    [LibraryImport(Lib)] internal static partial int XGBoosterFree(IntPtr handle);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int XGBoosterSetParam(BoosterHandle handle, string name, string value);
    [LibraryImport(Lib)] internal static partial int XGBoosterUpdateOneIter(BoosterHandle handle, int iter, DMatrixHandle dtrain);
    [LibraryImport(Lib)]
    internal static partial int XGBoosterEvalOneIter(BoosterHandle handle, int iter, IntPtr* dmats, IntPtr* names, ulong len, out IntPtr result);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int XGBoosterPredictFromDMatrix(BoosterHandle handle, DMatrixHandle dmat, string config,
        out ulong* shape, out ulong dim, out float* result);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int XGBoosterPredictFromDense(BoosterHandle handle, string values, string config, DMatrixHandle proxy,
        out ulong* shape, out ulong dim, out float* result);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int XGBoosterSaveModelToBuffer(BoosterHandle handle, string config, out ulong len, out byte* buffer);
    [LibraryImport(Lib)] internal static partial int XGBoosterLoadModelFromBuffer(BoosterHandle handle, byte* buffer, ulong len);
    [LibraryImport(Lib)] internal static partial int XGBoosterSlice(BoosterHandle handle, int begin, int end, int step, out BoosterHandle result);
    [LibraryImport(Lib)] internal static partial int XGBoosterBoostedRounds(BoosterHandle handle, out int rounds);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int XGBoosterFeatureScore(BoosterHandle handle, string config, out ulong nFeatures, out byte** features,
        out ulong dim, out ulong* shape, out float* scores);
}
