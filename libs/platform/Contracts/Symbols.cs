using System.ComponentModel.DataAnnotations;
using System.Diagnostics.CodeAnalysis;
using System.Text.RegularExpressions;

namespace Platform.Contracts;

/// <summary>
/// The one rule for a symbol, in every service: 1 to 32 characters of <c>A-Z a-z 0-9 . _ ^ = -</c>, the first a letter or
/// digit. It keeps symbols safe in URLs, file names, log lines and keys (no <c>/</c>, <c>..</c>, spaces, control characters).
/// </summary>
public static partial class Symbols
{
    public const int MaxLength = 32;

    /// <summary>What a valid symbol looks like, for error messages.</summary>
    public const string Rule = "1 to 32 letters, digits or . _ ^ = -, starting with a letter or digit";

    public static bool IsValid([NotNullWhen(true)] string? symbol) => symbol is not null && Pattern().IsMatch(symbol);

    // \z, not $: $ would accept a trailing newline.
    [GeneratedRegex(@"\A[A-Za-z0-9][A-Za-z0-9._^=-]{0,31}\z", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();
}

/// <summary>Validates a property against <see cref="Symbols"/>; null is left to <see cref="RequiredAttribute"/>.</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Parameter | AttributeTargets.Field)]
public sealed class SymbolAttribute : ValidationAttribute
{
    public SymbolAttribute() : base("'{0}' must be " + Symbols.Rule + ".") { }

    public override bool IsValid(object? value) => value is null || (value is string s && Symbols.IsValid(s));
}
