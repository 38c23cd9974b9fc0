// Namespaces most files of this suite use.
global using System.Diagnostics;
global using System.Globalization;
global using Xunit.Abstractions;
global using Platform.Contracts;
