"""Business logic of portfolio_app (HackSoft styleguide: services).

analysis: sending the monthly collaboration analysis 協作分析報告 to the executives.
"""
