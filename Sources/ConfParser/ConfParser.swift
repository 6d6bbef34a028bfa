import CInih
