namespace Platform.Deployment.Tests.Infrastructure;

public sealed record ValidationError(string Source, string Message)
{
    public override string ToString() => $"{Source}: {Message}";
}

public sealed record ValidationReport(int Checked, IReadOnlyList<ValidationError> Errors, int ExitCode)
{
    public bool Passed => ExitCode == 0 && Errors.Count == 0;

    public string Describe() => Errors.Count == 0 ? $"exit {ExitCode}, no errors" : string.Join('\n', Errors);
}

/// <summary>The node validator in validate/ (run tests/Deployment.Tests/setup.sh once to install it).</summary>
public static class Validator
{
    public static ValidationReport Manifests(IEnumerable<string> files) => Run(["manifests", .. files]);

    public static ValidationReport Terraform(string directory) => Run(["terraform", directory]);

    private static ValidationReport Run(string[] arguments)
    {
        var modules = Path.Combine(Repository.TestProject, "validate", "node_modules");
        if (!Directory.Exists(modules))
        {
            throw new InvalidOperationException("The validator is not installed: run tests/Deployment.Tests/setup.sh first.");
        }

        var result = Tool.Run("node", [Repository.Validator, .. arguments]);
        try
        {
            using var json = JsonDocument.Parse(result.Output);
            var errors = json.RootElement.GetProperty("errors").EnumerateArray()
                .Select(e => new ValidationError(e.GetProperty("source").GetString()!, e.GetProperty("message").GetString()!))
                .ToList();
            return new ValidationReport(json.RootElement.GetProperty("checked").GetInt32(), errors, result.ExitCode);
        }
        catch (JsonException)
        {
            throw new InvalidOperationException($"The validator printed no report: {result.Describe()}");
        }
    }
}
