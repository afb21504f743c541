<#
    .SYNOPSIS
    Check policy assignments of one or more groups

    .PARAMETER GroupIDs
    Groups to check.

    .PARAMETER includeapps
    Also look at app assignments.
#>

#Requires -Modules @{ModuleName = "RealmJoin.RunbookHelper"; ModuleVersion = "0.8.5" }

param(
    [Parameter(Mandatory = $true)]
    [string] $CallerName,
    [Parameter(Mandatory = $true)][ValidateScript({ Use-RjRbInterface -Type Graph -Entity Group })]
    [string[]] $GroupIDs,
    [bool] $IncludeApps = $false
)

foreach ($groupId in $GroupIDs) { "## $groupId" }
