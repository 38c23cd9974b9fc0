using Platform.Modeling.Models;
using Platform.Modeling.Models.XGBoost;

namespace Platform.Training.Runs;

/// <summary>Whether a candidate's model kind can run on this machine; null when it can, otherwise the reason.</summary>
public interface ICandidateRuntime
{
    string? Unavailable(ModelSpec spec);
}

/// <summary>
/// Checks the native libraries candidates need: XGBoost needs the system's <c>libxgboost.so.0</c> (Debian
/// <c>libxgboost0</c>, or <c>XGBOOST_LIBRARY_PATH</c>); ridge, HAR-RV, the baselines and ML.NET FastTree are managed;
/// LightGBM's native library ships inside its NuGet package (a load failure there surfaces while fitting).
/// </summary>
public sealed class NativeCandidateRuntime : ICandidateRuntime
{
    public string? Unavailable(ModelSpec spec)
    {
        if (spec.Kind == ModelKinds.Ensemble)
            return spec.Members?.Select(Unavailable).FirstOrDefault(r => r is not null);
        if (spec.Kind != ModelKinds.XGBoost) return null;
        try
        {
            XGBoostLibrary.EnsureLoaded();
            return null;
        }
        catch (ModelUnavailableException ex)
        {
            return ex.Message;
        }
    }
}
